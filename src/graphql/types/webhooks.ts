import { Field, ID, InputType, Int, ObjectType, registerEnumType } from 'type-graphql';
import type { WebhookAttemptRecord } from '../../modules/webhooks/webhook.service.js';
import { ConnectionOf, Node, UserError } from './common.js';

/** GraphQL names for the event types; the values are the wire names (`user.created`) used in payloads. */
export enum WebhookEventType {
  USER_CREATED = 'user.created',
  USER_UPDATED = 'user.updated',
  USER_DEACTIVATED = 'user.deactivated',
  USER_REACTIVATED = 'user.reactivated',
  USER_DELETED = 'user.deleted',
  TEAM_CREATED = 'team.created',
  TEAM_UPDATED = 'team.updated',
  TEAM_DELETED = 'team.deleted',
  ROLE_CREATED = 'role.created',
  ROLE_UPDATED = 'role.updated',
  ROLE_DELETED = 'role.deleted',
  ROLE_MEMBERS_CHANGED = 'role.members_changed',
  BULK_JOB_FINISHED = 'bulk_job.finished',
}
registerEnumType(WebhookEventType, {
  name: 'WebhookEventType',
  description: 'What a webhook announces. The payload carries the wire name, e.g. USER_CREATED is "user.created".',
  valuesConfig: {
    USER_UPDATED: { description: 'Any change of a user other than only its active flag (also a manager linked by backfill).' },
    USER_DEACTIVATED: { description: 'A change of only the active flag, to false.' },
    USER_REACTIVATED: { description: 'A change of only the active flag, to true.' },
    ROLE_MEMBERS_CHANGED: { description: 'Users assigned to or removed from a role (SCIM group membership); data.changes has the counts.' },
  },
});

export enum WebhookSubscriptionStatus {
  ACTIVE = 'active',
  DISABLED = 'disabled',
}
registerEnumType(WebhookSubscriptionStatus, {
  name: 'WebhookSubscriptionStatus',
  description: 'DISABLED: by an admin or after repeated failures; events keep queueing and are delivered, in order, once re-enabled.',
});

export enum WebhookDeliveryStatus {
  PENDING = 'pending',
  DELIVERING = 'delivering',
  HELD = 'held',
  SUCCEEDED = 'succeeded',
}
registerEnumType(WebhookDeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  valuesConfig: {
    PENDING: { description: 'Waiting for its next attempt (nextAttemptAt), or for an earlier event of the same resource.' },
    DELIVERING: { description: 'An attempt is in flight.' },
    HELD: { description: 'The subscription is disabled; delivered once it is re-enabled.' },
    SUCCEEDED: { description: 'The endpoint answered 2xx.' },
  },
});

@ObjectType({ implements: Node, description: 'An endpoint subscribed to event types. The signing secret is never readable again.' })
export class WebhookSubscription extends Node {
  @Field() url!: string;
  @Field(() => String, { nullable: true }) description!: string | null;
  @Field(() => [WebhookEventType]) eventTypes!: WebhookEventType[];
  @Field(() => WebhookSubscriptionStatus) status!: WebhookSubscriptionStatus;
  @Field(() => Date, { nullable: true }) disabledAt!: Date | null;
  @Field(() => String, { nullable: true, description: 'Why it was disabled.' }) disabledReason!: string | null;
  @Field(() => Int, { description: 'Failed attempts since the last success.' }) consecutiveFailures!: number;
  @Field(() => Date, { nullable: true, description: 'First failure since the last success.' }) failingSince!: Date | null;
  @Field(() => Date, { nullable: true }) lastSuccessAt!: Date | null;
  @Field(() => Date, { nullable: true }) lastFailureAt!: Date | null;
  @Field({ description: 'The first characters of the signing secret, to recognise it.' }) secretPrefix!: string;
  @Field(() => Date, { nullable: true }) secretRotatedAt!: Date | null;
  @Field(() => Date, { nullable: true, description: 'Until then the previous secret signs too (a second v1 in Roster-Signature).' })
  previousSecretExpiresAt!: Date | null;
  @Field() createdAt!: Date;
  @Field() updatedAt!: Date;
}

@ObjectType({ description: 'One HTTP attempt to deliver an event.' })
export class WebhookDeliveryAttempt {
  @Field(() => Int, { description: '1 for the first attempt.' }) attemptNumber!: number;
  @Field() startedAt!: Date;
  @Field(() => Int) durationMs!: number;
  @Field(() => Int, { nullable: true, description: "The endpoint's HTTP status; null when no response came (network error, timeout)." })
  statusCode!: number | null;
  @Field(() => String, { nullable: true }) error!: string | null;
  @Field() succeeded!: boolean;
  @Field(() => Date, {
    nullable: true,
    description: 'When the next attempt was scheduled; null after a success or when the subscription got disabled.',
  })
  nextRetryAt!: Date | null;
}

@ObjectType({ description: 'An event for one subscription: its status and attempts.' })
export class WebhookDelivery {
  @Field(() => ID, { description: 'Also sent as the Roster-Delivery-Id header.' }) id!: string;
  @Field({ description: 'The event id (Roster-Event-Id, the payload id): the same for every subscription and every retry.' })
  eventId!: string;
  @Field(() => WebhookEventType) eventType!: WebhookEventType;
  @Field() occurredAt!: Date;
  @Field({ description: 'user, team, role or bulk_job' }) resourceType!: string;
  @Field(() => String, { nullable: true, description: 'The Roster id of the resource (the payload data.id).' }) resourceId!: string | null;
  @Field(() => WebhookDeliveryStatus) status!: WebhookDeliveryStatus;
  @Field(() => Int) attemptCount!: number;
  @Field(() => Date, { nullable: true, description: 'When the next attempt is due (PENDING only).' }) nextAttemptAt!: Date | null;
  @Field(() => Int, { nullable: true }) lastStatusCode!: number | null;
  @Field(() => String, { nullable: true }) lastError!: string | null;
  @Field(() => Date, { nullable: true }) deliveredAt!: Date | null;
  @Field() createdAt!: Date;
  /** Not a field: loads the attempts of the whole page in one query (see the resolver). */
  loadAttempts!: () => Promise<Map<string, WebhookAttemptRecord[]>>;
}

export const WebhookDeliveryConnection = ConnectionOf(WebhookDelivery, 'WebhookDelivery');

@InputType()
export class CreateWebhookSubscriptionInput {
  @Field({ description: 'https:// (http://localhost only where the service allows it).' }) url!: string;
  @Field(() => [WebhookEventType]) eventTypes!: WebhookEventType[];
  @Field(() => String, { nullable: true }) description?: string | null;
}

@InputType({ description: 'Omitted fields stay as they are.' })
export class UpdateWebhookSubscriptionInput {
  @Field(() => String, { nullable: true }) url?: string | null;
  @Field(() => [WebhookEventType], { nullable: true }) eventTypes?: WebhookEventType[] | null;
  @Field(() => String, { nullable: true }) description?: string | null;
}

@ObjectType()
export class WebhookSubscriptionPayload {
  @Field(() => WebhookSubscription, { nullable: true }) subscription!: unknown;
  @Field(() => [UserError]) userErrors!: UserError[];
}

@ObjectType()
export class WebhookSecretPayload {
  @Field(() => WebhookSubscription, { nullable: true }) subscription!: unknown;
  @Field(() => String, { nullable: true, description: 'The signing secret (whsec_…). Shown only here, only once.' }) secret!: string | null;
  @Field(() => [UserError]) userErrors!: UserError[];
}
