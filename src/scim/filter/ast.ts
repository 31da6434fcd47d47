/**
 * The SCIM filter AST (RFC 7644 §3.4.2.2). Produced by parse-filter.ts, consumed by the SQL compiler
 * (collection queries, evaluated by PostgreSQL) and by the in-memory matcher (PATCH value paths, which
 * select elements inside one resource's multi-valued attribute).
 */

/** An attribute path: optional schema URN, attribute name, optional sub-attribute. Names keep their case as sent. */
export interface AttrPath {
  /** e.g. 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'; undefined when not qualified. */
  urn?: string;
  attr: string;
  subAttr?: string;
}

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

/** A JSON literal from the filter: string, number, boolean or null. */
export type FilterValue = string | number | boolean | null;

export type FilterNode =
  | { kind: 'compare'; path: AttrPath; op: CompareOp; value: FilterValue }
  | { kind: 'present'; path: AttrPath }
  | { kind: 'and'; left: FilterNode; right: FilterNode }
  | { kind: 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; filter: FilterNode }
  /** attr[filter] — `filter` is evaluated against each element of the multi-valued attribute `path`. */
  | { kind: 'valuePath'; path: AttrPath; filter: FilterNode };
