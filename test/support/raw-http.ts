import { connect, type Socket } from 'node:net';

export type RawAnswer = { status: number; retryAfter?: string; body: any };

/** A raw HTTP/1.1 request on an open socket: written to the kernel now, read by the server on its next turn. */
export function rawRequest(socket: Socket, key: string | undefined, query: string): Promise<RawAnswer> {
  return heldRequest(socket, key, query, 0).answer;
}

/**
 * The same, with the last `withheld` bytes of its body held back until `finish`: the request is
 * admitted (which happens before the body is read) and holds its slot until then.
 */
export function heldRequest(socket: Socket, key: string | undefined, query: string, withheld = 1): { answer: Promise<RawAnswer>; finish(): void } {
  const body = JSON.stringify({ query });
  const head = [
    `POST /graphql HTTP/1.1`,
    'Host: localhost',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
    ...(key ? [`Authorization: Bearer ${key}`] : []),
  ];
  let received = '';
  socket.on('data', (chunk) => (received += chunk));
  const done = new Promise<RawAnswer>((resolve) =>
    socket.on('close', () => {
      const [headText, ...rest] = received.split('\r\n\r\n');
      const status = Number(headText.split(' ')[1]);
      const retryAfter = /\r\nretry-after: (\S+)/i.exec(headText)?.[1];
      const text = rest.join('\r\n\r\n');
      // Chunked or not, the JSON is the text between the first { and the last }.
      resolve({ status, retryAfter, body: JSON.parse(text.slice(text.indexOf('{'), text.lastIndexOf('}') + 1)) });
    }),
  );
  socket.write(`${head.join('\r\n')}\r\n\r\n${body.slice(0, body.length - withheld)}`);
  return { answer: done, finish: () => socket.write(body.slice(body.length - withheld)) };
}

export const opened = (url: string) =>
  new Promise<Socket>((resolve, reject) => {
    const { hostname, port } = new URL(url);
    const socket = connect(Number(port), hostname, () => resolve(socket));
    socket.once('error', reject);
  });
