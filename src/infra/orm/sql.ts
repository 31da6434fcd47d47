/**
 * The ORM expands an array parameter into a list of placeholders, so lists travel as one JSON parameter
 * instead, unpacked in SQL: `col in ${UUID_LIST}` with `jsonList(ids)`. Works for empty lists too.
 */
export const UUID_LIST = '(select jsonb_array_elements_text(?::jsonb)::uuid)';
export const TEXT_LIST = '(select jsonb_array_elements_text(?::jsonb))';
export const jsonList = (values: readonly unknown[]): string => JSON.stringify(values);
