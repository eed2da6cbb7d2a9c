import { expectTypeOf, test } from 'vitest';
import type { ClaimRequirement } from './requirements.js';

test('a claim requirement takes the keys of one form only, as the TypeError at run time does', () => {
  expectTypeOf({ claim: 'roles', includes: 'admin' } as const).toExtend<ClaimRequirement>();
  expectTypeOf({ claim: 'org_id', equals: 'acme' } as const).toExtend<ClaimRequirement>();
  expectTypeOf({ test: () => true, description: 'always' } as const).toExtend<ClaimRequirement>();
  // A description belongs to a predicate: beside a claim check it would be dropped without a word.
  // @ts-expect-error
  const described: ClaimRequirement = { claim: 'roles', includes: 'admin', description: 'admins' };
  // @ts-expect-error
  const both: ClaimRequirement = { claim: 'roles', equals: 'a', includes: 'b' };
  // @ts-expect-error
  const mixed: ClaimRequirement = { test: () => true, description: 'x', claim: 'roles' };
  expectTypeOf([described, both, mixed]).toBeArray();
});
