/**
 * Group membership from a PATCH, as deltas. A group can have tens of thousands of members, so the
 * handler must not load the member list to run `applyPatch` on it: every operation touching `members`
 * becomes a `MemberChange` the role service applies with set-based SQL; the rest (renames,
 * externalId) stays for `applyPatch` on the group representation without members.
 *
 * Forms handled (idp-behaviour.md, "Groups"):
 * - add:       `{"op":"add","path":"members","value":[{"value":"<id>","display":"…"}]}` (Okta),
 *              `{"op":"Add","path":"members","value":[{"$ref":null,"value":"<id>"}]}` (Entra)
 * - remove:    `{"op":"remove","path":"members[value eq \"<id>\"]"}` (Okta, Entra with aadOptscim062020),
 *              `{"op":"Remove","path":"members","value":[{"$ref":null,"value":"<id>"}]}` (Entra default)
 * - replace:   `{"op":"replace","path":"members","value":[…]}` → replaceAll (Okta full push)
 * - remove all: `{"op":"remove","path":"members"}` → removeAll
 * - path-less: `{"op":"replace","value":{"displayName":"x","members":[…]}}` → replaceAll + the rest
 *
 * A filter can only select members by id (`value eq "<id>"`, optionally joined with `or`): anything
 * else (`display eq`, `type eq`) would need the member list, so it is invalidPath. Sub-attribute paths
 * (`members.display`, `members[…].value`) address stored-nowhere or immutable data: invalidPath.
 */
import type { FilterNode } from '../filter/ast.js';
import { CORE_GROUP, sameUrn } from '../schemas/urns.js';
import { ScimPatchError } from './errors.js';
import type { NormalisedOp } from './patch-op.schema.js';
import { parsePatchPath } from './path.js';

export interface MemberChange {
  /** add / remove: these users; replaceAll: exactly these users; removeAll: `userIds` is empty. */
  kind: 'add' | 'remove' | 'replaceAll' | 'removeAll';
  userIds: string[];
}

export interface ExtractedMemberOps {
  /** In request order; apply one after the other. */
  memberChanges: MemberChange[];
  /** Every other operation, unchanged or with `members` taken out of a path-less value. */
  otherOps: NormalisedOp[];
}

export function extractMemberOps(operations: readonly NormalisedOp[]): ExtractedMemberOps {
  const memberChanges: MemberChange[] = [];
  const otherOps: NormalisedOp[] = [];
  const push = (change: MemberChange | undefined) => {
    if (change) memberChanges.push(change);
  };

  for (const op of operations) {
    // A path naming the Group schema itself carries attributes in its value, like a path-less op.
    const pathless = op.path === undefined || sameUrn(op.path, CORE_GROUP);
    if (pathless) {
      if (op.op === 'remove' || !isObject(op.value)) {
        otherOps.push(op); // applyPatch reports the error (noTarget / invalidValue)
        continue;
      }
      const { members, rest } = splitMembers(op.value);
      if (members === undefined) {
        otherOps.push(op);
        continue;
      }
      push(op.op === 'add' ? addChange(members) : replaceChange(members));
      if (Object.keys(rest).length > 0) otherOps.push({ ...op, value: rest });
      continue;
    }

    const path = parsePatchPath(op.path!);
    if (path.attr.toLowerCase() !== 'members' || (path.urn !== undefined && !sameUrn(path.urn, CORE_GROUP))) {
      otherOps.push(op);
      continue;
    }
    if (path.subAttr !== undefined) {
      throw new ScimPatchError(`"${op.path}": member sub-attributes cannot be modified`, 'invalidPath');
    }

    if (path.filter) {
      const ids = idsFromFilter(path.filter, op.path!);
      if (op.op === 'remove') push({ kind: 'remove', userIds: ids });
      else {
        // add/replace of `members[value eq "x"]`: make sure x is a member (the no-match rule of
        // apply-patch.ts); `value` is immutable, so a value naming someone else is refused.
        const given = op.value === undefined || op.value === null ? [] : memberIds(op.value, true);
        if (given.some((id) => !ids.includes(id))) {
          throw new ScimPatchError(`"${op.path}": a member's value is immutable`, 'mutability');
        }
        push({ kind: 'add', userIds: ids });
      }
      continue;
    }

    if (op.op === 'add') push(addChange(op.value));
    else if (op.op === 'replace') push(replaceChange(op.value));
    // RFC 7644 §3.5.2.2: remove without value removes all; with a value (Entra), those values.
    else if (op.value === undefined || op.value === null) push({ kind: 'removeAll', userIds: [] });
    else {
      const ids = memberIds(op.value);
      if (ids.length > 0) push({ kind: 'remove', userIds: ids });
    }
  }
  return { memberChanges, otherOps };
}

function addChange(value: unknown): MemberChange | undefined {
  if (value === null || value === '') return undefined;
  const ids = memberIds(value);
  return ids.length > 0 ? { kind: 'add', userIds: ids } : undefined;
}

function replaceChange(value: unknown): MemberChange {
  const ids = value === null || value === '' ? [] : memberIds(value);
  return ids.length > 0 ? { kind: 'replaceAll', userIds: ids } : { kind: 'removeAll', userIds: [] };
}

/** Takes `members` (or `urn:…:Group:members`, or `members` inside a Group-URN block) out of a path-less value. */
function splitMembers(value: Record<string, unknown>): { members: unknown; rest: Record<string, unknown> } {
  let members: unknown;
  const rest: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    if (isMembersKey(key)) members = v;
    else if (sameUrn(key, CORE_GROUP) && isObject(v)) {
      const inner = splitMembers(v);
      if (inner.members !== undefined) members = inner.members;
      if (Object.keys(inner.rest).length > 0) rest[key] = inner.rest;
    } else rest[key] = v;
  }
  return { members, rest };
}

function isMembersKey(key: string): boolean {
  const lower = key.toLowerCase();
  return lower === 'members' || lower === `${CORE_GROUP.toLowerCase()}:members`;
}

/** User ids from a members value: `[{ value: "id", … }]`, one such object, or bare id strings. */
function memberIds(value: unknown, allowPartial = false): string[] {
  const items = Array.isArray(value) ? value : [value];
  const ids: string[] = [];
  for (const item of items) {
    let id: unknown = item;
    if (isObject(item)) {
      const key = Object.keys(item).find((k) => k.toLowerCase() === 'value');
      if (key === undefined && allowPartial) continue; // e.g. only a display for a filtered target
      id = key === undefined ? undefined : item[key];
    }
    if (typeof id !== 'string' || id.trim() === '') {
      throw new ScimPatchError(`member values must be non-empty user id strings, got ${JSON.stringify(item)}`, 'invalidValue');
    }
    if (!ids.includes(id)) ids.push(id);
  }
  return ids;
}

/** `value eq "id"` or an `or` of those; anything else cannot be applied without the member list. */
function idsFromFilter(filter: FilterNode, path: string): string[] {
  const ids: string[] = [];
  const collect = (node: FilterNode): boolean => {
    if (node.kind === 'or') return collect(node.left) && collect(node.right);
    if (
      node.kind === 'compare' &&
      node.op === 'eq' &&
      node.path.urn === undefined &&
      node.path.subAttr === undefined &&
      node.path.attr.toLowerCase() === 'value' &&
      typeof node.value === 'string' &&
      node.value.trim() !== ''
    ) {
      if (!ids.includes(node.value)) ids.push(node.value);
      return true;
    }
    return false;
  };
  if (!collect(filter)) {
    throw new ScimPatchError(`"${path}": members can only be selected with value eq "<user id>"`, 'invalidPath');
  }
  return ids;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
