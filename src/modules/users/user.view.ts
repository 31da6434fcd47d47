import { rowView } from '../../infra/orm/views.js';
import { UserSchema, type User } from './user.entity.js';

/**
 * A user as read for display (SCIM lists and lookups, GraphQL nodes of queries): the entity's fields in a
 * plain object (infra/orm/views.ts). A view is never persisted: writes load the entity.
 */
export class UserView {}

/** A `users` row as the driver returned it (`select u.*`, or joined: `joinedColumns`) → a view. */
export const userView = rowView<User>(UserSchema, UserView);
