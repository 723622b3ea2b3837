import express from 'express';
import request from 'supertest';
import { allUsernames, columnValues, dataTable, decodeEntities, linkHref, nextPageLink, textOf, usernamesIn } from './html';

/** A list page as Tessera renders it: a caption, a hidden header, markers, an empty-state row. */
const LIST = `
<table role="presentation"><tr><th>Layout</th></tr></table>
<table class="data" aria-labelledby="users-heading">
  <caption class="visually-hidden">Users</caption>
  <thead><tr><th><span class="visually-hidden">Select</span></th><th>Username</th><th>Full name</th><th>Organizations</th></tr></thead>
  <tbody>
    <tr class="row"><td><input type="checkbox" name="ids" value="3" id="select-3"><label for="select-3" class="visually-hidden">Select anna</label></td>
      <td><a href="/users/3">anna</a></td><td>Anna  Zeta &amp; Co</td><td>A/A1<br>B</td></tr>
    <tr><td></td><td><a href="/users/4">bert</a> <span class="badge">(disabled)</span></td><td>&lt;Bert&gt; &quot;B&quot; &#x3D; &#39;b&#39;</td><td>B</td></tr>
    <tr><td colspan="4">No more users.</td></tr>
  </tbody>
</table>
<table class="data"><thead><tr><th>Other</th></tr></thead><tbody><tr><td>second table</td></tr></tbody></table>
<nav><ul><li><a href="/users?after=4&amp;size=2" rel="next">Next page »</a></li></ul></nav>`;

describe('html readers', () => {
  it('textOf: tags read as spaces, visually-hidden spans left out, entities decoded, spaces collapsed', () => {
    expect(textOf('<p>Anna<br>Zeta  <b>Admin</b></p>')).toBe('Anna Zeta Admin');
    expect(textOf('<th><span class="visually-hidden">Select</span> all</th>')).toBe('all');
    expect(textOf('&lt;b&gt; &amp;lt; &quot;q&quot; &#x3D; &#61; &#x60;')).toBe('<b> &lt; "q" = = `');
    expect(textOf('plain text')).toBe('plain text');
  });

  it('dataTable: the first data table, its headers, the rows that line up with them and their HTML', () => {
    const table = dataTable(LIST);
    expect(table.headers).toEqual(['', 'Username', 'Full name', 'Organizations']);
    expect(table.rows).toEqual([
      // A label hidden for screen readers is still text of the cell; only hidden spans are left out.
      ['Select anna', 'anna', 'Anna Zeta & Co', 'A/A1 B'],
      ['', 'bert (disabled)', `<Bert> "B" = 'b'`, 'B'],
    ]);
    expect(table.rawRows).toHaveLength(2);
    expect(table.rawRows[0]).toMatch(/^<tr class="row">/);
    expect(table.rawRows[0]).toContain('<a href="/users/3">anna</a>');
    expect(table.rawRows[1]).toContain('&lt;Bert&gt;');
    expect(() => dataTable('<table><tr><td>x</td></tr></table>')).toThrow('No data table in the page');
  });

  it('columnValues and usernamesIn read one column by its header, markers cut off', () => {
    expect(columnValues(LIST, 'Organizations')).toEqual(['A/A1 B', 'B']);
    expect(usernamesIn(LIST)).toEqual(['anna', 'bert']);
    expect(() => columnValues(LIST, 'E-mail')).toThrow('No column "E-mail" in the table (columns: , Username, Full name, Organizations)');
  });

  it('nextPageLink: the decoded href of the rel="next" link, or null', () => {
    expect(nextPageLink(LIST)).toBe('/users?after=4&size=2');
    expect(nextPageLink('<a href="/users">Users</a>')).toBeNull();
  });

  it('decodeEntities decodes what Handlebars escapes and leaves the markup', () => {
    expect(decodeEntities('<p title="&quot;x&quot;">a &amp; b &#x27;c&#x27; &#x3D; &#96; &amp;lt;</p>')).toBe(`<p title=""x"">a & b 'c' = \` &lt;</p>`);
  });

  it('linkHref: the link a person follows by its visible text', () => {
    expect(linkHref(LIST, 'anna')).toBe('/users/3');
    expect(() => linkHref(LIST, 'carl')).toThrow('No link "carl" in the page');
  });

  it('allUsernames follows the Next page links and returns the names sorted', async () => {
    const page = (names: string[], next?: string) =>
      `<table class="data"><thead><tr><th>Username</th></tr></thead><tbody>${names.map((n) => `<tr><td>${n}</td></tr>`).join('')}</tbody></table>` +
      (next ? `<a href="${next}" rel="next">Next page »</a>` : '');
    const app = express();
    app.get('/list', (req, res) => {
      res.send(req.query.after === 'b' ? page(['alma']) : page(['zoe', 'bob'], '/list?after=b&amp;size=2'));
    });
    expect(await allUsernames(request.agent(app), '/list')).toEqual(['alma', 'bob', 'zoe']);
    await expect(allUsernames(request.agent(app), '/missing')).rejects.toThrow('GET /missing answered 404');
  });
});
