import request from 'supertest';
import { ADMIN_PASSWORD, createTestApp, TestApp } from '../support/app';
import { login } from '../support/http';

describe('smoke', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('serves the login page and lets admin in', async () => {
    const page = await request(t.http).get('/login');
    expect(page.status).toBe(200);
    expect(page.text).toContain('Sign in to Tessera');
    const agent = await login(t.http, 'admin', ADMIN_PASSWORD);
    const home = await agent.get('/');
    expect(home.status).toBe(200);
    expect(home.text).toContain('Startboard');
  });
});
