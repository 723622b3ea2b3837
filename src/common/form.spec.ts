import type { ExecutionContext } from '@nestjs/common';
import { ModuleRef, Reflector } from '@nestjs/core';
import { defer, lastValueFrom, of } from 'rxjs';
import { ValidationError } from './errors';
import { FormRejection, FormView, FormViewInterceptor, formLocals, list, parseId, raw, safeReturnPath, safeValues, text } from './form';

describe('form helpers', () => {
  it('never sends passwords or the CSRF token back to the form', () => {
    expect(safeValues({ username: 'jo', password: 'x', newPassword: 'y', confirmPassword: 'z', _csrf: 't' })).toEqual({ username: 'jo' });
  });

  it('builds an error summary linked to the fields', () => {
    expect(formLocals({ email: 'a' }, { email: 'Enter an e-mail address.' })).toEqual({
      values: { email: 'a' },
      errors: { email: 'Enter an e-mail address.' },
      formError: null,
      errorSummary: [{ field: 'email', message: 'Enter an e-mail address.' }],
    });
  });

  it('reads text, raw and list fields defensively', () => {
    const body = { name: '  Ann  ', pw: ' x ', one: 'a', many: ['a', 'b'], weird: { x: 1 } };
    expect(text(body, 'name')).toBe('Ann');
    expect(raw(body, 'pw')).toBe(' x ');
    expect(text(body, 'weird')).toBe('');
    expect(text(undefined, 'name')).toBe('');
    expect(list(body, 'one')).toEqual(['a']);
    expect(list(body, 'many')).toEqual(['a', 'b']);
    expect(list(body, 'missing')).toEqual([]);
  });

  it('parses positive integer ids only', () => {
    expect(parseId('42')).toBe(42);
    expect(parseId(7)).toBe(7);
    for (const bad of ['0', '-1', '1.5', '1e3', 'abc', '', '99999999999', undefined, null, {}]) expect(parseId(bad)).toBeNull();
  });

  it('only returns to local paths after login', () => {
    expect(safeReturnPath('/users?page=2')).toBe('/users?page=2');
    for (const bad of ['//evil.example', 'https://evil.example', '/\\evil.example', 'users', '/login', '/logout', undefined, '/a\r\nSet-Cookie: x']) {
      expect(safeReturnPath(bad)).toBe('/');
    }
  });
});

describe('FormViewInterceptor', () => {
  class Controller {
    readonly roles = ['Editors', 'Readers'];
    @FormView('roles/form', { title: 'Edit role' }, (c: Controller, { id, body }) => ({ roles: c.roles, id, title: 'overridden', name: body.name }))
    update(): never {
      throw ValidationError.single('name', 'Name is taken.');
    }
  }

  it('renders a refused submit with the choices of its form, under the typed values', async () => {
    const controller = new Controller();
    const req = { actor: {}, params: { id: '7' }, body: { name: 'Editors', password: 'x' }, query: {} };
    const context = { getHandler: () => Controller.prototype.update, getClass: () => Controller, switchToHttp: () => ({ getRequest: () => req }) } as unknown as ExecutionContext;
    const moduleRef = { get: () => controller } as unknown as ModuleRef;
    const stream = new FormViewInterceptor(new Reflector(), moduleRef).intercept(context, { handle: () => defer(() => of(controller.update())) });
    const rejection = await lastValueFrom(stream).then(
      () => null,
      (error: unknown) => error,
    );
    expect(rejection).toBeInstanceOf(FormRejection);
    const { view, locals, status } = rejection as FormRejection;
    expect({ view, status }).toEqual({ view: 'roles/form', status: 422 });
    expect(locals).toMatchObject({ roles: ['Editors', 'Readers'], id: 7, title: 'Edit role', name: 'Editors', values: { name: 'Editors' }, errors: { name: 'Name is taken.' } });
    expect((locals.values as Record<string, unknown>).password).toBeUndefined();
  });
});
