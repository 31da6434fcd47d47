/** SCIM filtering (RFC 7644 §3.4.2.2) and sorting (§3.4.2.3): parse → AST → SQL, or AST → in-memory match. */
export type { AttrPath, CompareOp, FilterNode, FilterValue } from './ast.js';
export { ScimFilterError, type ScimFilterErrorType } from './errors.js';
export {
  COMPARE_OPS,
  DEFAULT_MAX_FILTER_DEPTH,
  DEFAULT_MAX_FILTER_LENGTH,
  parseAttrPath,
  parseFilter,
  type FilterLimits,
} from './parse-filter.js';
export { matchesFilter, type MatchOptions } from './match.js';
export {
  compileFilter,
  compileSortBy,
  type AttrMapping,
  type CompiledFilter,
  type FilterSchema,
  type JsonArrayOfObjects,
  type JsonScalar,
  type JsonSubAttribute,
  type Relation,
  type ScalarAttribute,
  type ScalarColumn,
  type ScalarType,
} from './to-sql.js';
