import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ModulesContainer } from '@nestjs/core';
import { NotFoundController } from '../../src/common/not-found.module';
import { createTestApp, TestApp } from '../support/app';

interface Route {
  controller: string;
  /** Declared in the controller, in the order Nest registers them (declaration order). */
  index: number;
  method: RequestMethod;
  segments: string[];
  url: string;
}

function segmentsOf(...parts: string[]): string[] {
  return parts.flatMap((p) => p.split('/')).filter((s) => s !== '');
}

/** Every route of every controller of the running app, read from Nest's own metadata. */
function declaredRoutes(t: TestApp): { prefixes: Map<string, string[]>; routes: Route[] } {
  const prefixes = new Map<string, string[]>();
  const routes: Route[] = [];
  const seen = new Set<Function>();
  for (const module of t.app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const type = wrapper.metatype as Function | null;
      if (!type || seen.has(type) || type === NotFoundController) continue;
      seen.add(type);
      const declared = Reflect.getMetadata(PATH_METADATA, type) as string | string[] | undefined;
      const controllerPaths = Array.isArray(declared) ? declared : [declared ?? ''];
      for (const prefix of controllerPaths) {
        const key = segmentsOf(prefix).join('/');
        // Controllers at the root (sign-in, home) own only the literal routes they declare.
        if (key !== '') prefixes.set(key, [...(prefixes.get(key) ?? []), type.name]);
      }
      let index = 0;
      for (const name of Object.getOwnPropertyNames(type.prototype)) {
        const handler = (type.prototype as Record<string, unknown>)[name];
        if (name === 'constructor' || typeof handler !== 'function') continue;
        const path = Reflect.getMetadata(PATH_METADATA, handler) as string | string[] | undefined;
        if (path === undefined) continue;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod;
        for (const prefix of controllerPaths) {
          for (const p of Array.isArray(path) ? path : [path]) {
            const segments = segmentsOf(prefix, p);
            routes.push({ controller: type.name, index: index++, method, segments, url: `${RequestMethod[method]} /${segments.join('/')}` });
          }
        }
      }
    }
  }
  return { prefixes, routes };
}

/** Whether some request is matched by both routes (a `:param` segment matches any one segment). */
function overlap(a: Route, b: Route): boolean {
  if (a.method !== b.method && a.method !== RequestMethod.ALL && b.method !== RequestMethod.ALL) return false;
  if (a.segments.length !== b.segments.length) return false;
  return a.segments.every((s, i) => s === b.segments[i] || s.startsWith(':') || b.segments[i].startsWith(':'));
}

/**
 * Which controller answers a URL must not depend on the order in which modules register their
 * routes: each URL prefix has one owning controller, and no request can be matched by two routes
 * (except the catch-all 404, which is registered last on purpose).
 */
describe('routes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('gives every URL prefix one controller', () => {
    const { prefixes } = declaredRoutes(t);
    expect(prefixes.size).toBeGreaterThan(10);
    const shared = [...prefixes].filter(([, owners]) => owners.length > 1).map(([prefix, owners]) => `/${prefix}: ${owners.join(', ')}`);
    expect(shared).toEqual([]);
  });

  it('declares no route twice and lets no route match a request of another', () => {
    const { routes } = declaredRoutes(t);
    expect(routes.length).toBeGreaterThan(50);
    const clashes: string[] = [];
    routes.forEach((a, i) => {
      for (const b of routes.slice(i + 1)) {
        if (!overlap(a, b)) continue;
        if (a.controller !== b.controller) clashes.push(`${a.url} (${a.controller}) and ${b.url} (${b.controller})`);
        // Within one controller the first declared wins: a literal declared after a parameter
        // would never be reached, and an exact repeat is a copy.
        else if (a.url === b.url || a.segments.some((s, k) => s.startsWith(':') && !b.segments[k].startsWith(':')))
          clashes.push(`${a.url} shadows ${b.url} in ${a.controller}`);
      }
    });
    expect(clashes).toEqual([]);
  });
});
