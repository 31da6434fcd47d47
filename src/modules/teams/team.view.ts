import { rowView } from '../../infra/orm/views.js';
import { TeamSchema, type Team } from './team.entity.js';

/** A team as read for display (GraphQL nodes of queries): the entity's fields in a plain object (infra/orm/views.ts). */
export class TeamView {}

/** A `teams` row as the driver returned it (`select t.*`, or joined: `joinedColumns`) → a view. */
export const teamView = rowView<Team>(TeamSchema, TeamView);
