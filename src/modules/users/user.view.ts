import { UserSchema, type User } from './user.entity.js';

/**
 * A user as read for display (SCIM lists and lookups, GraphQL nodes): the entity's fields in a plain object,
 * without what a managed entity carries (per-instance property accessors, an identity-map entry, a
 * snapshot the unit of work compares at commit). On read paths that bookkeeping cost more CPU than the
 * query (docs/performance.md, "Where Roster's CPU goes"). A view is never persisted: writes load the entity.
 */
export class UserView {}

type Columns = Array<[prop: keyof User & string, column: string]>;

const snake = (prop: string) => prop.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

// Every persisted property of the entity, from its schema (user.entity.ts), in its column's name (MikroORM's
// underscore naming); the timestamps are parsed from the text the driver returns.
const DATES = new Set<string>(['createdAt', 'updatedAt', 'deactivatedAt', 'deletedAt', 'erasedAt']);
const PROPS = Object.keys(UserSchema.meta.properties) as Array<keyof User & string>;
const PLAIN: Columns = PROPS.filter((p) => !DATES.has(p)).map((p) => [p, snake(p)]);
const TIMES: Columns = PROPS.filter((p) => DATES.has(p)).map((p) => [p, snake(p)]);

/** A `users` row as the driver returned it (`select u.*`: snake_case columns, timestamps as text) → a view. */
export function userView(row: Record<string, unknown>): User {
  const v = new UserView() as Record<string, unknown>;
  for (const [prop, column] of PLAIN) v[prop] = row[column] ?? null;
  for (const [prop, column] of TIMES) {
    const t = row[column];
    v[prop] = t == null ? null : t instanceof Date ? t : new Date(String(t));
  }
  return v as unknown as User;
}
