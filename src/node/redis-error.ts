/**
 * Redis could not be reached, or a chunk failed on the workers: `brink: …`, exit 1. Kept apart from
 * distributed.ts so that the CLI loads BullMQ only for `--redis` and `brink worker`.
 */
export class RedisError extends Error {}
