import { isUuid } from '../kernel/ids.js';

export type NodeType =
  | 'User'
  | 'Team'
  | 'Role'
  | 'AuditEvent'
  | 'Tenant'
  | 'ScimCredential'
  | 'ApiKey'
  | 'CustomAttribute'
  | 'BulkJob'
  | 'WebhookSubscription'
  | 'OAuthClient';
const TYPES = new Set<NodeType>([
  'User',
  'Team',
  'Role',
  'AuditEvent',
  'Tenant',
  'ScimCredential',
  'ApiKey',
  'CustomAttribute',
  'BulkJob',
  'WebhookSubscription',
  'OAuthClient',
]);

/** Opaque global ids: base64url of "<Type>:<uuid>". Clients must not parse them. */
export const toGlobalId = (type: NodeType, id: string): string => Buffer.from(`${type}:${id}`).toString('base64url');

export function fromGlobalId(globalId: string): { type: NodeType; id: string } | null {
  const raw = Buffer.from(globalId, 'base64url').toString('utf8');
  const i = raw.indexOf(':');
  if (i < 0) return null;
  const type = raw.slice(0, i) as NodeType;
  const id = raw.slice(i + 1);
  return TYPES.has(type) && isUuid(id) ? { type, id } : null;
}

/**
 * The uuid behind a global id of the expected type; null when the id is malformed or of another type
 * (callers report that as not found, which is what it is from the caller's point of view).
 */
export function idOf(globalId: string | null | undefined, type: NodeType): string | null {
  if (!globalId) return null;
  const parsed = fromGlobalId(globalId);
  return parsed && parsed.type === type ? parsed.id : null;
}
