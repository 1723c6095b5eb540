// Typed access to environment variables (`process.env`), documented in `.env.example`.

/** The variable's value, or `fallback` when it is unset or empty. */
export function env(name: string, fallback?: string): string | undefined {
  const value = process.env[name];
  return value === undefined || value === '' ? fallback : value;
}

/** The variable's value; throws when it is unset or empty. */
export function requireEnv(name: string): string {
  const value = env(name);
  if (value === undefined) {
    throw new Error(`environment variable ${name} is not set (see .env.example)`);
  }
  return value;
}

/** The variable as an integer, or `fallback` when it is unset; throws when it is not one. */
export function envInt(name: string, fallback: number): number {
  const value = env(name);
  if (value === undefined) {
    return fallback;
  }
  const parsed = Number(value);
  if (!Number.isInteger(parsed)) {
    throw new Error(`environment variable ${name} must be an integer, got "${value}"`);
  }
  return parsed;
}

export const isProduction = env('NODE_ENV') === 'production';
