/**
 * Roster's TypeScript client for partners: a typed GraphQL client (documents generated from
 * schema/schema.graphql and client/operations), the bulk-job line format, and CSV helpers.
 * Guide: client/README.md.
 */
export * from './__generated__/graphql.js';
export {
  RosterClient,
  RosterError,
  type BulkJobInfo,
  type BulkJobLineInfo,
  type ExportedUser,
  type RosterClientOptions,
  type UploadOptions,
  type WaitOptions,
} from './client.js';
export {
  csvRow,
  csvToLines,
  parseCsv,
  parseCsvRecords,
  toJsonLines,
  type BulkLine,
  type CsvImport,
  type CsvRecord,
  type UpsertUserFields,
  type UserSelector,
} from './lines.js';
