// A stand-in session store so the sample runs without a database.
export interface Session {
  id: string;
  expiresAt: Date;
}

const sessions: Session[] = [
  { id: 'a1', expiresAt: new Date(Date.now() - 60_000) },
  { id: 'b2', expiresAt: new Date(Date.now() + 60_000) },
];

export function expiredSessions(now: Date = new Date()): Session[] {
  return sessions.filter((session) => session.expiresAt < now);
}
