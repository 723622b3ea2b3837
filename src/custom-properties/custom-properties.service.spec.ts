import { CustomPropertiesService, PropertyDefinition, pgArray, valueLines } from './custom-properties.service';

const service = new CustomPropertiesService(null as never, null as never);
const defs: PropertyDefinition[] = [
  { id: 1, name: 'Size', description: null, allowedValues: ['S', 'M'], multiValued: false },
  { id: 2, name: 'Teams', description: null, allowedValues: ['Red', 'Blue'], multiValued: true },
  { id: 3, name: 'Languages', description: null, allowedValues: [], multiValued: true },
  { id: 4, name: 'Nickname', description: null, allowedValues: [], multiValued: false },
];

describe('custom property values from a form', () => {
  it('reads a select, a multi-select, a one-per-line textarea and a text input', () => {
    const { values, errors } = service.parseValues(defs, { prop_1: 'M', prop_2: ['Red', 'Blue', 'Red'], prop_3: ' de \r\nen\n\nde', prop_4: '  Bo ' });
    expect(errors).toEqual({});
    expect([...values.entries()]).toEqual([
      [1, ['M']],
      [2, ['Red', 'Blue']],
      [3, ['de', 'en']],
      [4, ['Bo']],
    ]);
  });

  it('treats missing fields as no values', () => {
    expect([...service.parseValues(defs, {}).values.values()]).toEqual([[], [], [], []]);
  });

  it('refuses values outside the list, too long values and several values for a single-valued property', () => {
    const { errors } = service.parseValues(defs, { prop_1: 'XL', prop_2: ['Green'], prop_3: 'x'.repeat(501), prop_4: ['a', 'b'] });
    expect(errors).toEqual({
      prop_1: 'Size: choose values from the list.',
      prop_2: 'Teams: choose values from the list.',
      prop_3: 'Languages: use at most 500 characters per value.',
      prop_4: 'Nickname takes a single value.',
    });
  });

  it('builds form fields with the current values', () => {
    const fields = service.formFields(defs, new Map([[2, ['Blue']], [3, ['de', 'en']]]));
    expect(fields.map((f) => f.kind)).toEqual(['select', 'multiselect', 'textarea', 'text']);
    expect(fields[1].options).toEqual([
      { value: 'Red', selected: false },
      { value: 'Blue', selected: true },
    ]);
    expect(fields[2].text).toBe('de\nen');
  });

  it('cleans allowed-value lines and quotes array literals', () => {
    expect(valueLines(' a \n\nb\r\na\n')).toEqual(['a', 'b']);
    expect(pgArray(['a,b', 'say "hi"', 'back\\slash'])).toBe('{"a,b","say \\"hi\\"","back\\\\slash"}');
  });
});
