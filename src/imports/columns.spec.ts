import { catalogue, matchHeaders, PropertyColumn, STANDARD_COLUMNS } from './columns';

const skill: PropertyColumn = { id: 7, name: 'Project Code', allowedValues: [], multiValued: false };

describe('column catalogue', () => {
  it('lists the template columns in order, then one per custom property', () => {
    expect(catalogue([skill])).toEqual([
      'Id', 'UserName', 'FirstName', 'LastName', 'FullName', 'Email', 'Mobile', 'Password', 'Provider', 'Roles', 'Enabled', 'Department', 'Organizations', 'Licence', 'Profile', 'Project Code',
    ]);
  });
});

describe('matchHeaders', () => {
  it('matches case-insensitively, ignoring surrounding and inner spaces', () => {
    const { map, problems } = matchHeaders(['  username ', 'E-MAIL'.replace('-', ''), 'first name', ' project code '], [skill]);
    expect(problems).toEqual([]);
    expect(map.standard).toEqual({ UserName: 0, Email: 1, FirstName: 2 });
    expect(map.properties).toEqual([{ property: skill, index: 3 }]);
  });

  it('accepts the full catalogue in any order', () => {
    const { problems } = matchHeaders([...STANDARD_COLUMNS].reverse(), []);
    expect(problems).toEqual([]);
  });

  it('names an unknown column, a repeated one and every missing required column', () => {
    const { problems } = matchHeaders(['UserName', 'Shoe size', 'username', ''], []);
    expect(problems.map((p) => p.message)).toEqual([
      'Unknown column "Shoe size": it is neither a column of the template nor a custom property.',
      'Column "username" appears twice (columns 1 and 3).',
      'The required column "Email" is missing.',
    ]);
    expect(problems[0].column).toBe(2);
  });

  it('remembers blank header cells', () => {
    expect(matchHeaders(['UserName', '', 'Email'], []).map.blank).toEqual([1]);
  });
});
