import type { EntityManager, MikroORM } from '@mikro-orm/postgresql';

/**
 * One unit of work per request: a fork of the EntityManager inside one transaction in which
 * `roster.tenant_id` is set (transaction-local, so a pooled connection never carries it to the next
 * request) for row-level security, and the ORM tenant filter is parameterised.
 */
export async function inTenantTransaction<T>(orm: MikroORM, tenantId: string, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  return orm.em.fork().transactional(async (em) => {
    await enterTenant(em, tenantId);
    return fn(em);
  });
}

/** Switches an open transaction to a tenant (after authentication found which one). */
export async function enterTenant(em: EntityManager, tenantId: string): Promise<void> {
  await em.execute(`select set_config('roster.tenant_id', ?, true), set_config('roster.credential_lookup', 'off', true)`, [tenantId]);
  em.setFilterParams('tenant', { tenantId });
}

/**
 * Parameterises the ORM tenant filter for a transaction whose `roster.tenant_id` authentication already
 * set (the credential lookup functions do both in one round trip).
 */
export function useTenantFilter(em: EntityManager, tenantId: string): void {
  em.setFilterParams('tenant', { tenantId });
}

/** A transaction for operator work: tenants and operator keys only; no tenant's directory is visible. */
export async function inOperatorTransaction<T>(orm: MikroORM, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  return orm.em.fork().transactional(async (em) => {
    await em.execute(`select set_config('roster.operator', 'on', true)`);
    return fn(em);
  });
}

/** An unscoped transaction, used by authentication before it knows the tenant. */
export async function inTransaction<T>(orm: MikroORM, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  return orm.em.fork().transactional(fn);
}
