import { Kind, type FieldNode, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';

/** The field nodes a selection set selects, inline fragments and named fragments followed. */
function* fieldsOf(set: SelectionSetNode | undefined, info: GraphQLResolveInfo, seen = new Set<string>()): Generator<FieldNode> {
  if (!set) return;
  for (const sel of set.selections) {
    if (sel.kind === Kind.FIELD) yield sel;
    else if (sel.kind === Kind.INLINE_FRAGMENT) yield* fieldsOf(sel.selectionSet, info, seen);
    else if (!seen.has(sel.name.value)) {
      seen.add(sel.name.value);
      yield* fieldsOf(info.fragments[sel.name.value]?.selectionSet, info, seen);
    }
  }
}

/**
 * The names of the fields a query selects at `path` below the resolver's own field, e.g. `['nodes']` or
 * `['edges', 'node']` of a connection: what a resolver may load with its own statement instead of leaving
 * to the field resolvers. Directives are not evaluated: a field under `@skip` counts as selected, which
 * can only cost a column, never a wrong answer.
 */
export function selectedFields(info: GraphQLResolveInfo, path: readonly string[]): Set<string> {
  let sets = info.fieldNodes.map((f) => f.selectionSet);
  for (const name of path) {
    const next: Array<SelectionSetNode | undefined> = [];
    for (const set of sets) for (const f of fieldsOf(set, info)) if (f.name.value === name) next.push(f.selectionSet);
    sets = next;
  }
  const names = new Set<string>();
  for (const set of sets) for (const f of fieldsOf(set, info)) names.add(f.name.value);
  return names;
}
