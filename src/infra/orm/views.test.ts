import { TeamSchema } from '../../modules/teams/team.entity.js';
import { joinedColumns } from './views.js';

describe('joinedColumns', () => {
  it('selects a projection of the joined row as prefixed columns, and takes them back out under their own names', () => {
    const j = joinedColumns(TeamSchema, 't', ['name'], '_t_');
    expect(j.select).toBe('t.id as _t_id, t.name as _t_name');
    expect(j.take({ id: 'u1', name: 'not the team', _t_id: 't1', _t_name: 'Finance' })).toEqual({ id: 't1', name: 'Finance' });
  });

  it('takes null where the outer join found no row, and keeps a joined row’s null columns', () => {
    const j = joinedColumns(TeamSchema, 't', ['name', 'parentId'], '_t_');
    expect(j.take({ id: 'u1', _t_id: null, _t_name: null, _t_parent_id: null })).toBeNull();
    expect(j.take({ id: 'u1', _t_id: 't1', _t_name: 'Finance', _t_parent_id: null })).toEqual({
      id: 't1',
      name: 'Finance',
      parent_id: null,
    });
  });

  it('selects every column of the entity for the whole row', () => {
    const j = joinedColumns(TeamSchema, 't', 'all', '_t_');
    expect(j.select.split(', ')).toEqual(
      ['id', 'tenant_id', 'name', 'description', 'parent_id', 'version', 'created_at', 'updated_at'].map((c) => `t.${c} as _t_${c}`),
    );
  });
});
