import { Migration } from '@mikro-orm/migrations';

/**
 * The webhook outbox row travels with its audit row (issue 4; docs/performance.md). Every change records an
 * audit event, and a webhook-worthy one also an outbox row (`webhook_events`) in the same transaction: two
 * inserts, two round trips at every write. The application now names the event type on the audit row
 * (`webhook_type`, computed where the action is known: modules/webhooks/webhook-event-types.ts), and a trigger
 * writes the outbox row from it, in the same statement and transaction. The outbox row is what it was: the
 * audit event's id, tenant, type, resource and time; its `seq` comes from its column default as before.
 */
export class Migration20261122110000_audit_outbox extends Migration {
  override name = 'Migration20261122110000_audit_outbox';

  override up(): void {
    this.addSql(`
alter table audit_events add column webhook_type text;

create function roster_audit_outbox() returns trigger language plpgsql security invoker as $$
begin
  insert into webhook_events (id, tenant_id, type, resource_type, resource_id, occurred_at)
    values (new.id, new.tenant_id, new.webhook_type, new.target_type, new.target_id, new.occurred_at);
  return null;
end
$$;
create trigger audit_events_outbox after insert on audit_events
  for each row when (new.webhook_type is not null) execute function roster_audit_outbox();
`);
  }
}
