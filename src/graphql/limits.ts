import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, Kind, type DocumentNode, type FragmentDefinitionNode, type GraphQLSchema, type SelectionSetNode } from 'graphql';
import { getComplexity, simpleEstimator, type ComplexityEstimator } from 'graphql-query-complexity';
import { DEFAULT_PAGE_SIZE } from '../kernel/pagination.js';

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
export function limitsPlugin(schema: GraphQLSchema, opts: { maxDepth: number; maxCost: number }): ApolloServerPlugin {
  return {
    async requestDidStart() {
      let cost = 0;
      return {
        async didResolveOperation({ document, operationName, request }) {
          const depth = operationDepth(document, operationName);
          if (depth > opts.maxDepth) {
            throw new GraphQLError(`query depth ${depth} exceeds the limit of ${opts.maxDepth}`, { extensions: { code: 'QUERY_TOO_DEEP', http: { status: 400 }, depth, maxDepth: opts.maxDepth } });
          }
          cost = getComplexity({ schema, query: document, operationName: operationName ?? undefined, variables: request.variables ?? {}, estimators: [pagedEstimator, simpleEstimator({ defaultComplexity: 1 })] });
          if (cost > opts.maxCost) {
            throw new GraphQLError(`query cost ${cost} exceeds the limit of ${opts.maxCost}; ask for smaller pages or fewer nested lists`, { extensions: { code: 'QUERY_TOO_COMPLEX', http: { status: 400 }, cost, maxCost: opts.maxCost } });
          }
        },
        async willSendResponse({ response }) {
          if (response.body.kind === 'single') {
            response.body.singleResult.extensions = { ...response.body.singleResult.extensions, cost: { requested: cost, maximum: opts.maxCost } };
          }
        },
      };
    },
  };
}
