/**
 * Names other programs and the CDK app depend on, kept free of any SDK import so the CDK app
 * never loads a client's module.
 */

/** The `source` of every event SyncFlow puts on its bus (docs/architecture.md, "Events on the custom bus"). */
export const EVENT_SOURCE = 'syncflow.files';

/** The connections table's index of connections by owner. */
export const OWNER_INDEX = 'byOwner';
