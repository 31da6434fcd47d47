/**
 * The ORM expands an array parameter into a list of placeholders, so lists travel as one JSON parameter
 * instead, unpacked in SQL: `col in ${UUID_LIST}` with `jsonList(ids)`. Works for empty lists too.
 */
export const UUID_LIST = '(select jsonb_array_elements_text(?::jsonb)::uuid)';
export const TEXT_LIST = '(select jsonb_array_elements_text(?::jsonb))';
export const jsonList = (values: readonly unknown[]): string => JSON.stringify(values);

/**
 * The same list as an array, for `column = any(${UUID_ARRAY})`: an index condition whatever the planner
 * estimates. `in ${UUID_LIST}` is planned as a join with a guessed 100 rows, which against a big
 * partner (a 50,000-member group) becomes a hash join reading the whole partner.
 */
export const UUID_ARRAY = `array(select jsonb_array_elements_text(?::jsonb)::uuid)`;
