import express from 'express';
import multer from 'multer';
import request from 'supertest';
import { formIn, openForm } from './forms';

/** A small page with every kind of control the helper reads. */
const PAGE = `
<form method="get" action="/search"><label for="q">Search</label><input id="q" name="q" value="old"><button>Search</button></form>
<form method="post" action="/things/7" id="edit">
  <input type="hidden" name="_csrf" value="tok&amp;en">
  <label for="f-name">Name <span class="required" aria-hidden="true">*</span></label><input id="f-name" name="name" value="Ann &quot;A&quot;">
  <label for="f-mail">E-mail</label><input id="f-mail" name="email" type="email" value="">
  <input name="" value="nameless"><input value="no name at all">
  <label for="f-locked">Locked</label><input id="f-locked" name="locked" value="keep" disabled>
  <label for="f-gender">Gender</label>
  <select id="f-gender" name="gender"><option value="">(none)</option><option value="f" selected>Female</option><option value="m">Male</option></select>
  <label for="f-size">Size</label><select id="f-size" name="size"><option value="s">Small</option><option value="l">Large</option></select>
  <label for="f-tags">Tags</label>
  <select id="f-tags" name="tags" multiple><option selected>red</option><option value="g">green</option><option value="b" selected>blue</option><option value="x" selected disabled>grey</option></select>
  <label>Enabled <input type="checkbox" name="enabled" value="1" checked></label>
  <input type="checkbox" id="f-news" name="news"><label for="f-news">Newsletter</label>
  <input type="checkbox" id="f-admin" name="roleIds" value="9" checked disabled><label for="f-admin">Administrator</label>
  <input type="radio" id="r-a" name="mode" value="a" checked><label for="r-a">Mode A</label>
  <input type="radio" id="r-b" name="mode" value="b"><label for="r-b">Mode B</label>
  <label for="f-notes">Notes</label><textarea id="f-notes" name="notes">
line 1
line &lt;2&gt;</textarea>
  <fieldset disabled><legend>Old</legend><input name="old" value="gone"></fieldset>
  <button type="submit" name="op" value="save">Save</button>
  <button type="submit" formaction="/things/7/preview" name="op" value="preview">Preview</button>
  <button type="submit" formmethod="get" formaction="/things/7/look">Look</button>
  <button type="button">Not a submit</button>
  <button type="submit" disabled>Dead</button>
</form>
<input form="edit" type="hidden" name="outside" value="owned">
<form method="post" action="/upload" enctype="multipart/form-data">
  <input type="hidden" name="_csrf" value="t2"><label for="file">Workbook</label><input id="file" type="file" name="file"><button>Upload</button>
</form>`;

describe('formIn: what a browser would send', () => {
  it('finds a form by a button, by action or by a label, and lists the forms when none matches', () => {
    expect(formIn(PAGE, 'Save').action).toBe('/things/7');
    expect(formIn(PAGE, { action: '/search' }).method).toBe('GET');
    expect(formIn(PAGE, { label: 'Workbook' }).enctype).toBe('multipart/form-data');
    expect(() => formIn(PAGE, 'Delete')).toThrow(/No form {"button":"Delete"}.*POST \/things\/7 \[buttons: "Save", "Preview", "Look", "Dead"\]/);
    expect(() => formIn(`${PAGE}${PAGE}`, 'Save')).toThrow(/2 forms match/);
  });

  it('sends hidden fields, values, the selected options, checked boxes, text areas and the pressed button, in document order', () => {
    expect(formIn(PAGE, 'Save').entries('Save')).toEqual([
      ['_csrf', 'tok&en'],
      ['name', 'Ann "A"'],
      ['email', ''],
      ['gender', 'f'],
      // A drop-down with nothing selected sends its first option.
      ['size', 's'],
      // An option without a value sends its text; a disabled option is not sent.
      ['tags', 'red'],
      ['tags', 'b'],
      ['enabled', '1'],
      ['mode', 'a'],
      // The first line break after <textarea> is not part of the value; line breaks go as CRLF.
      ['notes', 'line 1\r\nline <2>'],
      ['op', 'save'],
      ['outside', 'owned'],
    ]);
  });

  it('changes only what is picked by label or option text, and fails listing what there is', () => {
    const form = formIn(PAGE, 'Save')
      .fill('Name', 'Bea')
      .fill('E-mail', 'bea@example.org')
      .select('Gender', 'Male')
      .select('Tags', ['green'])
      .uncheck('Enabled')
      .check('Newsletter')
      .check('Mode B')
      .fill('Notes', 'one');
    expect(form.values('Save')).toMatchObject({ name: 'Bea', email: 'bea@example.org', gender: 'm', tags: 'g', news: 'on', mode: 'b', notes: 'one' });
    expect(form.values('Save').enabled).toBeUndefined();
    expect(form.valueOf('Gender')).toBe('Male');
    expect(form.optionsOf('Gender')).toEqual(['(none)', 'Female', 'Male']);
    // The label's full text works too (with the required marker).
    expect(formIn(PAGE, 'Save').fill('Name *', 'C').values().name).toBe('C');

    expect(() => form.fill('Surname', 'x')).toThrow(/No field labelled "Surname".*Labels: "Name \*", "E-mail", .*"Gender"/);
    expect(() => form.select('Gender', 'Other')).toThrow(/No option "Other" in "Gender". Options: "\(none\)", "Female", "Male"/);
    expect(() => form.select('Tags', ['grey'])).toThrow(/disabled/);
    expect(() => form.fill('Gender', 'x')).toThrow(/select field, which cannot be used to type into/);
    expect(() => form.fill('Locked', 'x')).toThrow(/disabled/);
    expect(() => form.check('Administrator')).toThrow(/disabled/);
    expect(() => form.uncheck('Mode A')).toThrow(/radio/);
  });

  it('forges what a browser cannot send only when asked to, by field name', () => {
    const values = formIn(PAGE, 'Save').forge('gender', 'x').forge('roleIds', ['9', '10']).forge('_csrf', null).values('Save');
    expect(values).toMatchObject({ gender: 'x', roleIds: ['9', '10'], name: 'Ann "A"' });
    expect(values._csrf).toBeUndefined();
  });

  it('knows the buttons, refuses disabled ones and unknown ones', () => {
    const form = formIn(PAGE, 'Save');
    expect(form.submitButtons().map((b) => [b.text, b.disabled, b.formaction])).toEqual([
      ['Save', false, null],
      ['Preview', false, '/things/7/preview'],
      ['Look', false, '/things/7/look'],
      ['Dead', true, null],
    ]);
    expect(() => form.entries('Dead')).toThrow(/"Dead" is disabled/);
    expect(() => form.entries('Remove')).toThrow(/No button "Remove".*Buttons: "Save", "Preview", "Look", "Dead"/);
    // Without a button named, the first one is pressed (as Enter does).
    expect(form.values().op).toBe('save');
    expect(form.values('Look').op).toBeUndefined();
  });
});

describe('RenderedForm.submit: the request a browser makes', () => {
  const received: { method: string; url: string; body: unknown; raw?: string; files?: unknown }[] = [];
  const app = express();
  app.post('/upload', multer({ storage: multer.memoryStorage() }).single('file'), (req, res) => {
    const file = (req as unknown as { file?: { originalname: string; buffer: Buffer } }).file;
    received.push({ method: req.method, url: req.url, body: { ...req.body }, files: file ? { name: file.originalname, text: file.buffer.toString() } : null });
    res.send('ok');
  });
  app.use(express.text({ type: 'application/x-www-form-urlencoded' }));
  app.all(/.*/, (req, res) => {
    received.push({ method: req.method, url: req.url, body: null, raw: typeof req.body === 'string' ? req.body : undefined });
    res.send(PAGE);
  });

  beforeEach(() => {
    received.length = 0;
  });

  it('posts urlencoded to the action, or to the button formaction, with repeated names kept', async () => {
    const agent = request.agent(app);
    await formIn(PAGE, 'Save', { agent, url: '/things/7/edit' }).submit('Save');
    await formIn(PAGE, 'Save', { agent, url: '/things/7/edit' }).submit('Preview');
    expect(received[0]).toMatchObject({ method: 'POST', url: '/things/7' });
    expect(received[0].raw).toContain('_csrf=tok%26en&name=Ann+%22A%22&');
    expect(received[0].raw).toContain('&tags=red&tags=b&');
    expect(received[0].raw).toContain('&op=save&');
    expect(received[1]).toMatchObject({ method: 'POST', url: '/things/7/preview' });
    expect(received[1].raw).toContain('&op=preview&');
  });

  it('sends the request when the button is pressed, before the answer is awaited', async () => {
    const agent = request.agent(app);
    const pending = formIn(PAGE, 'Save', { agent, url: '/things/7/edit' }).submit('Save');
    // Not awaited yet: the request must still reach the server (bounded wait for it to arrive).
    for (let i = 0; i < 500 && received.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received.map((r) => r.url)).toEqual(['/things/7']);
    expect((await pending).status).toBe(200);
  });

  it('submits a GET form (or a formmethod="get" button) as a query string', async () => {
    const agent = request.agent(app);
    const form = await openForm(agent, '/search', 'Search');
    await form.fill('Search', 'a b&c').submit();
    await formIn(PAGE, 'Look', { agent }).submit('Look');
    expect(received[1]).toMatchObject({ method: 'GET', url: '/search?q=a+b%26c' });
    expect(received[2].method).toBe('GET');
    expect(received[2].url).toMatch(/^\/things\/7\/look\?_csrf=tok%26en&name=/);
  });

  it('sends multipart with the attached file when the form says so', async () => {
    const agent = request.agent(app);
    await formIn(PAGE, 'Upload', { agent }).attach('Workbook', 'a,b\n1,2\n', 'users.csv', 'text/csv').submit('Upload');
    expect(received[0]).toMatchObject({ method: 'POST', url: '/upload', body: { _csrf: 't2' }, files: { name: 'users.csv', text: 'a,b\n1,2\n' } });
  });

  it('sends an empty file part when no file was chosen, as a browser does', async () => {
    const agent = request.agent(app);
    await formIn(PAGE, 'Upload', { agent }).submit('Upload');
    expect(received[0]).toMatchObject({ method: 'POST', url: '/upload', body: { _csrf: 't2' } });
    // The part is there (filename=""); multer, the app's upload parser, reads it as no file.
    expect(received[0].files).toBeNull();
  });
});
