import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type SelectionSetNode } from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import { DEFAULT_PAGE_SIZE } from '../kernel/pagination.js';
import type { GraphQLContext } from './context.js';

/** Selection depth of the operation, following fragment spreads (each fragment counted once per path). */
export function operationDepth(document: DocumentNode, operationName?: string | null): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const op = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName));
  if (!op || op.kind !== Kind.OPERATION_DEFINITION) return 0;
  const walk = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
    if (!set) return 0;
    let max = 0;
    for (const sel of set.selections) {
      if (sel.kind === Kind.FIELD) max = Math.max(max, sel.selectionSet ? 1 + walk(sel.selectionSet, seen) : 1);
      else if (sel.kind === Kind.INLINE_FRAGMENT) max = Math.max(max, walk(sel.selectionSet, seen));
      else if (!seen.has(sel.name.value)) {
        const f = fragments.get(sel.name.value);
        if (f) max = Math.max(max, walk(f.selectionSet, new Set([...seen, sel.name.value])));
      }
    }
    return max;
  };
  return walk(op.selectionSet, new Set());
}

const CAP = 1_000_000_000;

/**
 * Field selections and aliases of the operation, fragments expanded (a fragment spread twice counts
 * twice, as it executes twice; memoised, so even an exponential fragment tree is counted at once).
 */
export function operationWidth(document: DocumentNode, operationName?: string | null): { fields: number; aliases: number } {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const op = document.definitions.find((d) => d.kind === Kind.OPERATION_DEFINITION && (!operationName || d.name?.value === operationName));
  if (!op || op.kind !== Kind.OPERATION_DEFINITION) return { fields: 0, aliases: 0 };
  const memo = new Map<string, { fields: number; aliases: number }>();
  const count = (set: SelectionSetNode | undefined, stack: ReadonlySet<string>): { fields: number; aliases: number } => {
    let fields = 0;
    let aliases = 0;
    const add = (w: { fields: number; aliases: number }) => {
      fields = Math.min(CAP, fields + w.fields);
      aliases = Math.min(CAP, aliases + w.aliases);
    };
    for (const sel of set?.selections ?? []) {
      if (sel.kind === Kind.FIELD) {
        add({ fields: 1, aliases: sel.alias ? 1 : 0 });
        if (sel.selectionSet) add(count(sel.selectionSet, stack));
      } else if (sel.kind === Kind.INLINE_FRAGMENT) {
        add(count(sel.selectionSet, stack));
      } else if (!stack.has(sel.name.value)) {
        const name = sel.name.value;
        let w = memo.get(name);
        if (!w) {
          w = count(fragments.get(name)?.selectionSet, new Set([...stack, name]));
          memo.set(name, w);
        }
        add(w);
      }
    }
    return { fields, aliases };
  };
  return count(op.selectionSet, new Set());
}

/** A list field costs its page size times what each item selects. */
const pagedEstimator: ComplexityEstimator = ({ args, childComplexity }) => {
  const size = typeof args.first === 'number' ? args.first : typeof args.last === 'number' ? args.last : undefined;
  if (size !== undefined) return 1 + childComplexity * Math.max(size, 1);
  if ('first' in args || 'after' in args || 'before' in args) return 1 + childComplexity * DEFAULT_PAGE_SIZE;
  return undefined;
};

/**
 * Rejects, before execution, operations deeper than maxDepth or costlier than maxCost, with
 * QUERY_TOO_DEEP / QUERY_TOO_COMPLEX; reports the cost of every operation in `extensions.cost`.
 */
export function limitsPlugin(
  schema: GraphQLSchema,
  opts: { maxDepth: number; maxCost: number; maxAliases?: number; maxFields?: number },
): ApolloServerPlugin<GraphQLContext> {
  return {
    async requestDidStart() {
      let cost = 0;
      return {
        async didResolveOperation({ document, operationName, request, contextValue }) {
          if (opts.maxAliases !== undefined || opts.maxFields !== undefined) {
            const { fields, aliases } = operationWidth(document, operationName);
            if (opts.maxAliases !== undefined && aliases > opts.maxAliases) {
              throw new GraphQLError(
                `the operation uses ${aliases} aliases; at most ${opts.maxAliases} are allowed (fetch several objects with nodes(ids:) instead)`,
                { extensions: { code: 'QUERY_TOO_MANY_ALIASES', http: { status: 400 }, aliases, maxAliases: opts.maxAliases } },
              );
            }
            if (opts.maxFields !== undefined && fields > opts.maxFields) {
              throw new GraphQLError(`the operation selects ${fields} fields (fragments expanded); at most ${opts.maxFields} are allowed`, {
                extensions: { code: 'QUERY_TOO_MANY_FIELDS', http: { status: 400 }, fields, maxFields: opts.maxFields },
              });
            }
          }
          const depth = operationDepth(document, operationName);
          if (depth > opts.maxDepth) {
            throw new GraphQLError(`query depth ${depth} exceeds the limit of ${opts.maxDepth}`, {
              extensions: { code: 'QUERY_TOO_DEEP', http: { status: 400 }, depth, maxDepth: opts.maxDepth },
            });
          }
          try {
            cost = getComplexity({
              schema,
              query: document,
              operationName: operationName ?? undefined,
              variables: request.variables ?? {},
              estimators: [pagedEstimator, simpleEstimator({ defaultComplexity: 1 })],
            });
          } catch (err) {
            // The estimate coerces the variables first: invalid ones are the caller's mistake (400), as in execution.
            if (err instanceof GraphQLError)
              throw new GraphQLError(err.message, { nodes: err.nodes, extensions: { code: 'BAD_USER_INPUT', http: { status: 400 } } });
            throw err;
          }
          if (cost > opts.maxCost) {
            throw new GraphQLError(`query cost ${cost} exceeds the limit of ${opts.maxCost}; ask for smaller pages or fewer nested lists`, {
              extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 }, cost, maxCost: opts.maxCost },
            });
          }
          // What the tenant's rate limit charges for it (graphql/rate-limit.ts).
          if (contextValue?.meter) contextValue.meter.cost = cost;
        },
        async willSendResponse({ response }) {
          if (response.body.kind === 'single') {
            response.body.singleResult.extensions = {
              ...response.body.singleResult.extensions,
              cost: { requested: cost, maximum: opts.maxCost },
            };
          }
        },
      };
    },
  };
}
