import { responseProblems } from './openapi.ts';

/**
 * A fetch for the client library that checks every answer of the REST API against
 * docs/openapi.yaml, so every call the suite makes through the library also tests the contract.
 * A mismatch fails the call with the problems listed. Other hosts (S3, Cognito) pass through.
 */
export const checkedFetch =
  (restUrl: string) =>
  async (input: string, init?: RequestInit): Promise<Response> => {
    const response = await fetch(input, init);
    if (!input.startsWith(restUrl)) return response;
    const text = await response.clone().text();
    let body: unknown = text;
    if (text !== '') {
      try {
        body = JSON.parse(text);
      } catch {
        throw new Error(
          `${init?.method ?? 'GET'} ${input} answered a non-JSON body: ${text.slice(0, 200)}`,
        );
      }
    }
    const route = `/${new URL(input).pathname.slice(new URL(restUrl).pathname.length)}`;
    const method = init?.method ?? 'GET';
    const problems = responseProblems(method, route, response.status, body);
    if (problems.length > 0) {
      throw new Error(
        `${method} ${route} → ${response.status} does not match docs/openapi.yaml:\n${problems.join('\n')}\n${text.slice(0, 500)}`,
      );
    }
    return response;
  };
