/**
 * Reads a required setting once, at import: a missing value fails the cold start with a clear
 * message, not the hundredth request.
 */
export const requireEnv = (name: string, env: NodeJS.ProcessEnv = process.env): string => {
  const value = env[name];
  if (value === undefined || value === '') {
    throw new Error(`Environment variable ${name} is required but not set`);
  }
  return value;
};

export const intEnv = (
  name: string,
  fallback: number,
  env: NodeJS.ProcessEnv = process.env,
): number => {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(
      `Environment variable ${name} must be a non-negative integer, not ${JSON.stringify(raw)}`,
    );
  }
  return value;
};

export const listEnv = (
  name: string,
  fallback: readonly string[],
  env = process.env,
): readonly string[] => {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  return raw
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
};
