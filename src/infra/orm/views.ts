/**
 * Read-only views of rows (issue 4, docs/performance.md): an entity's fields in a plain object of a
 * marker class, without what a managed entity carries (per-instance property accessors, an identity-map
 * entry, a snapshot the unit of work compares at commit). On read paths that bookkeeping cost more CPU
 * than the query. A view is never persisted: writes load the entity.
 */

interface SchemaMeta {
  meta: { properties: Record<string, { type?: unknown }> };
}

/** A property's column (MikroORM's underscore naming), e.g. `userName` → `user_name`. */
export const columnOf = (prop: string) => prop.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
const isDateTime = (type: unknown) => typeof type === 'function' && type.name === 'DateTimeType';

/** A timestamp as the driver returns it (text: `2026-11-22 10:00:00.123456+00`, or ISO 8601 inside JSON) → a Date. */
const parseTimestamp = (t: unknown): Date | null => (t == null ? null : t instanceof Date ? t : new Date(String(t)));

/**
 * The function that turns a row of the entity's table (`select x.*`, or a joined row taken out by
 * `joinedColumns`: snake_case columns, timestamps as text) into a view: every persisted property of the
 * schema the row has a column for, in its column's name (MikroORM's underscore naming), timestamps parsed.
 * A row of some columns only (a projection, see user.queries.ts) makes a view of those properties only: the
 * others are absent, not null.
 */
export function rowView<T>(schema: SchemaMeta, View: new () => object): (row: Record<string, unknown>) => T {
  // By column: the property it fills, and whether it is a timestamp. A row is walked by its own columns (a
  // projected one has a few of the entity's forty), and columns of no property (`_team_name`, …) are skipped.
  const byColumn = new Map(Object.entries(schema.meta.properties).map(([prop, p]) => [columnOf(prop), { prop, time: isDateTime(p.type) }]));
  return (row) => {
    const v = new View() as Record<string, unknown>;
    for (const column in row) {
      const to = byColumn.get(column);
      if (to) v[to.prop] = to.time ? parseTimestamp(row[column]) : (row[column] ?? null);
    }
    return v as T;
  };
}

/** Which properties of a row a read needs: all of them, or these (the id always comes along). */
export type Projection<P extends string = string> = 'all' | readonly P[];

const projected = (projection: Projection) => [...new Set<string>(['id', ...(projection === 'all' ? [] : projection)])];

/** The select list of a projection over the row alias `a`. */
export const projectedColumns = (a: string, projection: Projection) =>
  projection === 'all'
    ? `${a}.*`
    : projected(projection)
        .map((prop) => `${a}.${columnOf(prop)}`)
        .join(', ');

/** A row of an outer join, read along with the row it is joined to (`joinedColumns`). */
export interface JoinedColumns {
  /** The select list over the join's alias: each column as `<prefix><column>`. */
  select: string;
  /** The joined row out of the outer row (named as `select a.*` names its columns), or null where the join found none. */
  take: (row: Record<string, unknown>) => Record<string, unknown> | null;
}

/**
 * A projection of an outer join's row (alias `a`, rows of `schema`'s table) as plain columns of the outer
 * row, named `<prefix><column>`. Not one JSON object per row (`row_to_json`, `json_build_object`):
 * PostgreSQL builds no JSON and the driver parses none. For a GraphQL users page of 100 with its managers
 * and teams, the statement took ~0.3 ms less on one connection (docs/performance.md, round 9).
 */
export function joinedColumns(schema: SchemaMeta, a: string, projection: Projection, prefix: string): JoinedColumns {
  const props = projection === 'all' ? projected(Object.keys(schema.meta.properties)) : projected(projection);
  const columns = props.map((prop) => [`${prefix}${columnOf(prop)}`, columnOf(prop)] as const);
  const idKey = `${prefix}id`;
  return {
    select: columns.map(([key, column]) => `${a}.${column} as ${key}`).join(', '),
    take: (row) => {
      if (row[idKey] == null) return null;
      const joined: Record<string, unknown> = {};
      for (const [key, column] of columns) joined[column] = row[key];
      return joined;
    },
  };
}
