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
 * The function that turns a row of the entity's table (`select x.*`, or `row_to_json(x)`: snake_case
 * columns, timestamps as text) into a view: every persisted property of the schema the row has a column
 * for, in its column's name (MikroORM's underscore naming), timestamps parsed. A row of some columns only
 * (a projection, see user.queries.ts) makes a view of those properties only: the others are absent, not null.
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

/**
 * A projection over the row alias `a` of an outer join as one JSON object keyed by column (as `select a.*`
 * would name them), or null where the join found no row.
 */
export const projectedJson = (a: string, projection: Projection) =>
  `case when ${a}.id is null then null else ${
    projection === 'all'
      ? `row_to_json(${a})`
      : `json_build_object(${projected(projection)
          .map((prop) => `'${columnOf(prop)}', ${a}.${columnOf(prop)}`)
          .join(', ')})`
  } end`;
