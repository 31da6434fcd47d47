import type { EntityManager } from '@mikro-orm/postgresql';
import { z } from 'zod';
import { uuidv7 } from '../../kernel/ids.js';
import { parseInput } from '../../kernel/validate.js';
import { Tenant } from './tenant.entity.js';

export const TenantSlug = z
  .string()
  .trim()
  .toLowerCase()
  .regex(
    /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/,
    'must be 1-63 lowercase letters, digits or hyphens, not starting or ending with a hyphen (it becomes a subdomain)',
  );

const CreateTenantInput = z.object({
  slug: TenantSlug,
  displayName: z.string().trim().min(1).max(200).optional(),
});

/** Operator operation: `em` must be in an operator transaction (infra/orm/session.ts). */
export async function createTenant(em: EntityManager, input: z.input<typeof CreateTenantInput>): Promise<Tenant> {
  const { slug, displayName } = parseInput(CreateTenantInput, input);
  const tenant = em.create(Tenant, {
    id: uuidv7(),
    slug,
    displayName: displayName ?? slug,
    settings: {},
    createdAt: new Date(),
    updatedAt: new Date(),
  });
  await em.flush();
  return tenant;
}

export async function listTenants(em: EntityManager, opts: { limit: number; afterSlug?: string }): Promise<Tenant[]> {
  return em.find(Tenant, opts.afterSlug ? { slug: { $gt: opts.afterSlug } } : {}, { orderBy: { slug: 'asc' }, limit: opts.limit });
}

export async function getTenant(em: EntityManager, id: string): Promise<Tenant | null> {
  return em.findOne(Tenant, { id });
}
