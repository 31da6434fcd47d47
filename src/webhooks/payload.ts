import { toGlobalId, type NodeType } from '../graphql/ids.js';
import type { Changes } from '../modules/audit/audit.service.js';

/** The JSON body of every webhook request (documented in README.md, "Webhooks"). */
export interface WebhookPayload {
  /** The event id, also in Roster-Event-Id; the same across retries (receivers deduplicate on it). */
  id: string;
  type: string;
  occurredAt: string;
  /** The tenant's slug. */
  tenant: string;
  data: {
    /** user, team, role or bulk_job */
    object: string;
    /** The Roster id (for users and roles, also the SCIM id). */
    id: string | null;
    /** The GraphQL global id, for node(id:) and the typed queries. */
    nodeId: string | null;
    /** The fields the change touched, before and after (as in the audit trail). */
    changes: Changes;
  };
}

const NODE_TYPES: Record<string, NodeType> = { user: 'User', team: 'Team', role: 'Role', bulk_job: 'BulkJob' };

export function buildPayload(e: {
  eventId: string;
  eventType: string;
  occurredAt: Date;
  tenantSlug: string;
  resourceType: string;
  resourceId: string | null;
  changes: Changes;
}): WebhookPayload {
  const nodeType = NODE_TYPES[e.resourceType];
  return {
    id: e.eventId,
    type: e.eventType,
    occurredAt: e.occurredAt.toISOString(),
    tenant: e.tenantSlug,
    data: {
      object: e.resourceType,
      id: e.resourceId,
      nodeId: nodeType && e.resourceId ? toGlobalId(nodeType, e.resourceId) : null,
      changes: e.changes,
    },
  };
}
