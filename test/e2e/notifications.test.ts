import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import WebSocket from 'ws';
import { type FileEventMessage, type SocketLike, subscribe } from '../../client/src/index.ts';
import { uploadFile, waitForFile } from '../support/api-client.ts';
import { type E2eUser, freshUsers } from '../support/e2e-users.ts';
import { HTML_PAGE, makeJpeg } from '../support/images.ts';

const target = inject('target');
const dynamo = new DynamoDBClient(target.aws);
const outputs = target.outputs as Record<string, string>;

/** A WebSocket connection as a browser would open it, keeping what it receives. */
interface Message {
  type: string;
  fileId?: string;
  eventId?: string;
  reason?: string;
  at?: string;
}

interface Listener {
  readonly socket: WebSocket;
  readonly messages: Message[];
}

const open = (token: string | undefined): Promise<Listener> =>
  new Promise((resolve, reject) => {
    const url = token
      ? `${target.websocketUrl}?token=${encodeURIComponent(token)}`
      : target.websocketUrl;
    const socket = new WebSocket(url);
    const listener: Listener = { socket, messages: [] };
    socket.on('message', (data) => listener.messages.push(JSON.parse(String(data))));
    socket.once('open', () => resolve(listener));
    socket.once('unexpected-response', (_request, response) =>
      reject(new Error(`refused: ${response.statusCode}`)),
    );
    socket.once('error', reject);
    socket.once('close', (code) => reject(new Error(`closed before opening: ${code}`)));
  });

const close = (listener: Listener): Promise<void> =>
  new Promise((resolve) => {
    if (listener.socket.readyState === WebSocket.CLOSED) resolve();
    listener.socket.once('close', () => resolve());
    listener.socket.close();
  });

const until = async (check: () => boolean, timeoutMs: number, what: string) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
};

/** What the client library's subscription says when the stack refuses this token. */
const refusalOf = (token: string | undefined): Promise<string> =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      subscription.close();
      reject(new Error('no refusal within 20 s'));
    }, 20_000);
    const subscription = subscribe({
      url: target.websocketUrl,
      token: async () => token,
      onEvent: () => {},
      socket: (url) => new WebSocket(url) as unknown as SocketLike,
      onRefused: (error) => {
        clearTimeout(timer);
        resolve(error.message);
      },
      onState: (state) => {
        if (state !== 'open') return;
        clearTimeout(timer);
        subscription.close();
        reject(new Error('the connection opened'));
      },
    });
  });

/** The user's own token with its claims changed: its signature no longer matches. */
const withClaims = (token: string, claims: Record<string, unknown>): string => {
  const [head, payload, signature] = token.split('.') as [string, string, string];
  const changed = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), ...claims };
  return `${head}.${Buffer.from(JSON.stringify(changed)).toString('base64url')}.${signature}`;
};

/** The connections the table holds for one owner. */
const connectionsOf = async (ownerId: string): Promise<number> => {
  const items = await dynamo.send(new ScanCommand({ TableName: outputs.ConnectionsTableName }));
  return (items.Items ?? []).filter((item) => item.ownerId?.S === ownerId).length;
};

describe(`WebSocket notifications on the ${target.name} stack`, () => {
  let alice: E2eUser;
  let bob: E2eUser;
  let removeUsers: () => Promise<void> = async () => {};
  const listeners: Listener[] = [];

  beforeAll(async () => {
    const fresh = await freshUsers(target, ['alice', 'bob']);
    removeUsers = fresh.remove;
    [alice, bob] = fresh.users as [E2eUser, E2eUser];
  });

  afterAll(async () => {
    for (const listener of listeners) await close(listener);
    await removeUsers();
  });

  it('refuses a connection with no token or a bad token', async () => {
    await expect(open(undefined)).rejects.toThrow(/refused: 40[13]/);
    await expect(open('eyJhbGciOiJSUzI1NiJ9.e30.AAAA')).rejects.toThrow(/refused: 403/);
    await expect(open(`${alice.token.slice(0, -6)}AAAAAA`)).rejects.toThrow(/refused: 403/);
  });

  it('has the client library say why: the token was missing, expired (and when) or invalid', async () => {
    expect(await refusalOf(undefined)).toBe(
      'The WebSocket refused the connection: no token was sent; sign in',
    );
    const exp = Math.floor(Date.now() / 1000) - 60;
    expect(await refusalOf(withClaims(alice.token, { exp }))).toBe(
      `The WebSocket refused the token: it expired at ${new Date(exp * 1000).toISOString()}; sign in again`,
    );
    expect(await refusalOf(`${alice.token.slice(0, -6)}AAAAAA`)).toMatch(
      /^The WebSocket refused the token as invalid \(.+\); sign in again$/,
    );
  });

  it("pushes each user's events to both of their connections, and to nobody else", async () => {
    const [a1, a2, b1, b2] = [
      await open(alice.token),
      await open(alice.token),
      await open(bob.token),
      await open(bob.token),
    ] as [Listener, Listener, Listener, Listener];
    listeners.push(a1, a2, b1, b2);
    expect(await connectionsOf(alice.ownerId)).toBe(2);

    // A ping is answered on the connection that sent it.
    a1.socket.send(JSON.stringify({ action: 'ping' }));
    await until(() => a1.messages.some((m) => m.type === 'pong'), 10_000, 'a pong');
    a1.messages.length = 0;

    const jpeg = await makeJpeg(320, 240);
    const alicesFile = await uploadFile(alice.api, 'alice.jpg', 'image/jpeg', jpeg);
    const bobsFile = await uploadFile(bob.api, 'bob.jpg', 'image/jpeg', HTML_PAGE);
    await waitForFile(alice.api, alicesFile);
    await waitForFile(bob.api, bobsFile);
    // Each file's run announces its start, then its end: two pushes per file, in either order
    // (the notifier sends them as they come off its queue).
    const arrived = () => [a1, a2, b1, b2].every((l) => l.messages.length >= 2);
    await until(arrived, 30_000, 'two notifications on every connection');
    // A moment for anything that should not come.
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    const byType = (listener: Listener) =>
      [...listener.messages].sort((x, y) => x.type.localeCompare(y.type));
    for (const listener of [a1, a2]) {
      expect(byType(listener)).toEqual([
        expect.objectContaining({ type: 'file.processed', fileId: alicesFile }),
        expect.objectContaining({ type: 'file.processing', fileId: alicesFile }),
      ]);
    }
    for (const listener of [b1, b2]) {
      expect(byType(listener)).toEqual([
        expect.objectContaining({ type: 'file.processing', fileId: bobsFile }),
        expect.objectContaining({
          type: 'file.rejected',
          fileId: bobsFile,
          reason: expect.stringMatching(/HTML/),
        }),
      ]);
    }
    // The same events reached both connections of their owner; a start is never newer than
    // its end.
    expect(byType(a1).map((m) => m.eventId)).toEqual(byType(a2).map((m) => m.eventId));
    const [ended, started] = byType(a1) as [Message, Message];
    expect(Date.parse(started.at ?? '')).toBeLessThanOrEqual(Date.parse(ended.at ?? ''));

    // A closed connection is forgotten; the other one still hears about the next file.
    await close(a2);
    await until(() => a2.socket.readyState === WebSocket.CLOSED, 5_000, 'the close');
    const deadline = Date.now() + 15_000;
    while ((await connectionsOf(alice.ownerId)) !== 1 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(await connectionsOf(alice.ownerId)).toBe(1);
    const second = await uploadFile(alice.api, 'alice-2.jpg', 'image/jpeg', jpeg);
    await until(
      () => a1.messages.some((m) => m.fileId === second && m.type === 'file.processed'),
      30_000,
      'the second notification',
    );
    expect(a2.messages).toHaveLength(2);
  });

  it("delivers events through the client library's subscription, which reconnects after a drop", async () => {
    const sockets: WebSocket[] = [];
    const events: FileEventMessage[] = [];
    let reconnects = 0;
    const subscription = alice.client.subscribe({
      onEvent: (event) => events.push(event),
      onReconnect: () => {
        reconnects++;
      },
      socket: (url) => {
        const socket = new WebSocket(url);
        sockets.push(socket);
        return socket as unknown as SocketLike;
      },
    });
    try {
      await until(() => subscription.state === 'open', 10_000, 'the subscription to open');
      const jpeg = await makeJpeg(160, 120);
      const first = await uploadFile(alice.api, 'sub-1.jpg', 'image/jpeg', jpeg);
      const ends = (fileId: string) =>
        events.filter((e) => e.fileId === fileId && e.type !== 'file.processing');
      await until(() => ends(first).length > 0, 30_000, 'the first event');
      // The connection drops (a network change, API Gateway's two-hour limit): the client
      // connects again with a fresh token and says so, and events flow again.
      sockets[0]?.terminate();
      await until(() => reconnects === 1 && subscription.state === 'open', 20_000, 'a reconnect');
      const second = await uploadFile(alice.api, 'sub-2.jpg', 'image/jpeg', jpeg);
      await until(() => ends(second).length > 0, 30_000, 'the second event');
      expect(ends(first)).toEqual([
        expect.objectContaining({ type: 'file.processed', status: 'PROCESSED' }),
      ]);
      expect(sockets).toHaveLength(2);
    } finally {
      subscription.close();
    }
  });

  it.runIf(target.name === 'local')(
    "emails the owner of a rejected file through the emulator's SES",
    async () => {
      const fileId = await uploadFile(alice.api, 'fake.png', 'image/png', HTML_PAGE);
      expect((await waitForFile(alice.api, fileId)).status).toBe('REJECTED');
      const deadline = Date.now() + 30_000;
      let mail: { To: string[]; Subject: string; BodyText: string } | undefined;
      while (!mail && Date.now() < deadline) {
        const response = await fetch(`${target.aws.endpoint}/_ministack/ses/messages`);
        // The emulator's inspection endpoint: every sent message, by account.
        const body = (await response.json()) as {
          messages: Record<string, { To: string[]; Subject: string; BodyText: string }[]>;
        };
        mail = Object.values(body.messages)
          .flat()
          .find((m) => m.To.includes(alice.email) && m.BodyText.includes(fileId));
        if (!mail) await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(mail?.Subject).toMatch(/rejected/);
      expect(mail?.BodyText).toMatch(/HTML/);
    },
  );
});
