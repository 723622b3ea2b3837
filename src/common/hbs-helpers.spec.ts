import Handlebars from 'handlebars';
import { DISPLAY_TIME_ZONE, formatDateTime, registerHelpers } from './hbs-helpers';

describe('date helpers', () => {
  const hbs = Handlebars.create();
  registerHelpers(hbs);
  const render = (template: string, data: Record<string, unknown>) => hbs.compile(template)(data);

  it('formats in the given zone with the zone named, across daylight saving time', () => {
    expect(formatDateTime(new Date('2026-07-01T10:00:00Z'), 'Europe/Berlin')).toBe('01 Jul 2026, 12:00 Europe/Berlin');
    expect(formatDateTime(new Date('2026-01-15T08:30:00Z'), 'Europe/Berlin')).toBe('15 Jan 2026, 09:30 Europe/Berlin');
    expect(formatDateTime(new Date('2026-01-15T23:30:00Z'), 'America/New_York')).toBe('15 Jan 2026, 18:30 America/New_York');
    expect(formatDateTime(new Date('2026-01-15T23:30:00Z'), 'UTC')).toBe('15 Jan 2026, 23:30 UTC');
  });

  it('reads the zone of the request from the root data, also inside blocks, and keeps <time datetime> in UTC', () => {
    const data = { [DISPLAY_TIME_ZONE]: 'Asia/Tokyo', rows: [{ at: new Date('2026-03-01T15:00:00Z') }] };
    expect(render('{{#each rows}}<time datetime="{{isoDate at}}">{{formatDateTime at}}</time>{{/each}}', data)).toBe(
      '<time datetime="2026-03-01T15:00:00.000Z">02 Mar 2026, 00:00 Asia/Tokyo</time>',
    );
    expect(render('{{formatDateTime at}}', { at: '2026-03-01T15:00:00Z' })).toBe('01 Mar 2026, 15:00 UTC');
    expect(render('[{{formatDateTime at}}]', { at: null })).toBe('[]');
  });

  it('shows audited timestamps like every date, other values as before', () => {
    const data = { [DISPLAY_TIME_ZONE]: 'Europe/Berlin', to: '2026-07-01T10:00:00.000Z', from: null, name: 'Ann' };
    expect(render('{{formatAuditValue from json=true}} → {{formatAuditValue to json=true}}', data)).toBe('null → 01 Jul 2026, 12:00 Europe/Berlin');
    expect(render('{{formatAuditValue name json=true}}|{{formatAuditValue name}}', data)).toBe('&quot;Ann&quot;|Ann');
  });
});
