import { httpJson, httpRequest } from "./wait";

export interface Matcher {
  readonly name: string;
  readonly value: string;
  readonly isRegex: boolean;
  readonly isEqual?: boolean;
}

export interface Silence {
  readonly id: string;
  readonly matchers: readonly Matcher[];
  readonly startsAt: string;
  readonly endsAt: string;
  readonly createdBy: string;
  readonly comment: string;
  readonly status: { readonly state: "active" | "pending" | "expired" };
}

export interface AmAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly status: {
    readonly state: "active" | "suppressed" | "unprocessed";
    readonly silencedBy: readonly string[];
    readonly inhibitedBy: readonly string[];
  };
  readonly receivers: readonly { readonly name: string }[];
}

/** Alertmanager's v2 API, as far as the suite needs it. */
export class AlertmanagerApi {
  constructor(readonly baseUrl: string) {}

  async ready(): Promise<boolean> {
    const { status } = await httpRequest(`${this.baseUrl}/-/ready`, { timeoutMs: 2_000 });
    return status === 200;
  }

  async createSilence(matchers: readonly Matcher[], durationMs: number, comment: string): Promise<string> {
    const now = Date.now();
    const body = {
      matchers,
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + durationMs).toISOString(),
      createdBy: "e2e",
      comment,
    };
    const created = await httpJson<{ silenceID: string }>(`${this.baseUrl}/api/v2/silences`, { method: "POST", body });
    return created.silenceID;
  }

  silence(id: string): Promise<Silence> {
    return httpJson<Silence>(`${this.baseUrl}/api/v2/silence/${encodeURIComponent(id)}`);
  }

  alerts(): Promise<readonly AmAlert[]> {
    return httpJson<AmAlert[]>(`${this.baseUrl}/api/v2/alerts`);
  }

  async status(): Promise<{ config: { original: string } }> {
    return httpJson<{ config: { original: string } }>(`${this.baseUrl}/api/v2/status`);
  }
}
