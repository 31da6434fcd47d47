import { isUuid } from '../../kernel/ids.js';
import type { Page, PageArgs } from '../../kernel/pagination.js';
import type { TenantScope } from '../../kernel/scope.js';
import { keysetPage } from '../../infra/orm/keyset.js';
import { AuditEvent } from './audit-event.entity.js';

export interface AuditCriteria {
  door?: string | null;
  action?: string | null;
  targetId?: string | null;
  since?: Date | null;
  until?: Date | null;
}

/** The tenant's audit trail, newest first. */
export async function listAuditEvents(scope: TenantScope, c: AuditCriteria, args: PageArgs): Promise<Page<AuditEvent>> {
  const where = ['a.tenant_id = ?'];
  const params: unknown[] = [scope.tenantId];
  const add = (sql: string, value: unknown) => {
    where.push(sql);
    params.push(value);
  };
  if (c.door) add('a.door = ?', c.door);
  if (c.action) add('a.action = ?', c.action);
  if (c.targetId) add('a.target_id = ?', isUuid(c.targetId) ? c.targetId : '00000000-0000-0000-0000-000000000000');
  if (c.since) add('a.occurred_at >= ?', c.since);
  if (c.until) add('a.occurred_at < ?', c.until);
  const page = await keysetPage<Record<string, unknown>>(
    scope.em,
    {
      select: 'a.*',
      from: `from audit_events a where ${where.join(' and ')}`,
      params,
      alias: 'a',
      sortExpr: 'a.occurred_at',
      sortType: 'timestamptz',
      descending: true,
    },
    args,
  );
  return { ...page, nodes: page.nodes.map((row) => scope.em.map(AuditEvent, row)) };
}
