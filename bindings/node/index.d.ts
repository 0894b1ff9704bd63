// Type declarations for townhall's Node.js bindings (index.js).
// Times are milliseconds since the Unix epoch (UTC); inputs also take a
// Date. Ids are numbers (safe up to 2^53).

/// <reference types="node" />

export type Time = number | Date;

export type Status =
  | 'pending' | 'published' | 'under_review' | 'accepted' | 'in_progress'
  | 'done' | 'declined' | 'hidden' | 'withdrawn' | 'merged';
export type Sort = 'top' | 'hot' | 'new' | 'controversial' | 'random';
export type ModerationAction = 'publish' | 'hide' | 'reject' | 'merge';
export type Role = 'moderator' | 'councillor' | 'admin';

/** The C error names (th_err_name). */
export type ErrorCode =
  | 'TH_EINVAL' | 'TH_ENOMEM' | 'TH_ENOTFOUND' | 'TH_EEXIST' | 'TH_ETOOLONG'
  | 'TH_EUTF8' | 'TH_ECLOSED' | 'TH_ESTATE' | 'TH_EPERM' | 'TH_EAUTH'
  | 'TH_ENEWER' | 'TH_ENOTDB' | 'TH_ECORRUPT' | 'TH_EKEY' | 'TH_EIO'
  | 'TH_EFULL' | 'TH_EBUSY' | 'TH_EDB' | 'TH_ERANGE' | 'TH_ELIMIT'
  | 'TH_ETOOSHORT' | 'TH_EREADONLY' | 'TH_ESHUTDOWN' | 'TH_ECONFLICT';

/** A libtownhall failure. */
export class TownhallError extends Error {
  constructor(message: string, code: string, errno: number);
  readonly name: 'TownhallError';
  /** The C name, e.g. 'TH_ENOTFOUND' (a newer library may add codes). */
  readonly code: ErrorCode | string;
  /** The C code, e.g. -3. */
  readonly errno: number;
}

/** Who is acting: a signed-in resident (the council's own id for them, a
 * JWT's "sub"), or a device. Neither is stored, only keyed hashes. */
export type Who = string | { resident: string } | Device;
export interface Device {
  ip: string;
  userAgent?: string | null;
}

export interface SiteSettings {
  /** Space-separated origins allowed to embed the widgets. */
  origins?: string;
  /** Space-separated query parameters kept in stored page URLs. */
  keepParams?: string;
  moderateIdeas?: boolean;
  allowAnonymous?: boolean;
  rankAnonymous?: boolean;
  /** Retention in days; 0 takes the default, -1 keeps forever. */
  commentDays?: number;
  auditDays?: number;
  keyDays?: number;
  openMin?: number;
  openRound?: number;
  /** The site's wards and categories: where a list is set, an idea's ward
   * (category) must be one of them; [] means free text, scrubbed. */
  wards?: string[];
  categories?: string[];
  /** The council's own contact details, kept when staff text is scrubbed. */
  contacts?: string[];
}

export interface Site extends Required<SiteSettings> {
  id: number;
  slug: string;
  name: string;
  created: number;
}

export interface Consultation {
  id: number;
  siteId: number;
  slug: string;
  title: string;
  description: string;
  ward: string;
  opens: number;
  closes: number;
  keyDestroyed: boolean;
  created: number;
}

export interface Idea {
  id: number;
  consultationId: number;
  consultation: string;
  title: string;
  body: string;
  category: string;
  ward: string;
  status: Status;
  mergedInto: number;
  /** Whether the public may see it: a merged idea only if it was public before the merge. */
  public: boolean;
  response: string;
  responseAt: number;
  up: number;
  down: number;
  anonUp: number;
  anonDown: number;
  top: number;
  hot: number;
  controversial: number;
  created: number;
  updated: number;
}

export interface IdeaQuery {
  consultation?: string | null;
  sort?: Sort;
  /** For sort 'random': the same seed gives the same order. */
  seed?: number | bigint;
  /** Default: the statuses the public may see. */
  statuses?: Status[];
  ward?: string | null;
  category?: string | null;
  createdFrom?: Time;
  createdTo?: Time;
  /** 1..100; default 20. */
  limit?: number;
  cursor?: string | null;
}

export interface Page<T> {
  items: T[];
  /** Pass back as `cursor` for the next page; null on the last one. */
  nextCursor: string | null;
}

export interface Submission {
  id: number;
  /** The same author already proposed this title: id is that idea's. */
  duplicate: boolean;
}

export interface Counts {
  up: number;
  down: number;
  anonUp: number;
  anonDown: number;
  myVote: -1 | 0 | 1;
  /** False when the vote was already that. */
  changed: boolean;
}

export interface VoteDay {
  day: number;
  up: number;
  down: number;
}

/** A count, or null where the published figures withhold it. */
export type Count = number | null;

/**
 * A page's feedback. exact: the exact counters (staff; no figure is null).
 * Otherwise the published figures (feedbackSummary(..., { public: true })):
 * complete ISO weeks only, small counts withheld and the others rounded,
 * every withheld figure null (comments always).
 */
export interface PageSummary {
  page: string;
  yes: Count;
  no: Count;
  /** yes + no. */
  responses: Count;
  /** ratings[0] counts 1-star ratings ... ratings[4] 5-star ones. */
  ratings: [Count, Count, Count, Count, Count];
  ratingCount: Count;
  /** 0 when ratingCount is 0. */
  ratingMean: number | null;
  /** Wilson lower bound (95%) of yes / (yes + no). */
  usefulLower: number | null;
  comments: Count;
  /** Exact: the first and last days with feedback. Published: the first
   * day of the first week and the last day of the last week covered. */
  first: number;
  last: number;
  exact: boolean;
}

/** The result of answerFeedback. */
export interface Answer {
  /** False for a retry folded into an earlier answer (same key, device and
   * answer the same day); handle is then that answer's. */
  recorded: boolean;
  /** Amends this answer, and only it, until midnight UTC. Keep it for the
   * resident; never put it in a URL. */
  handle: string;
}

export interface Feedback {
  useful: boolean;
  /** 1..5. */
  rating?: number | null;
  comment?: string | null;
}

export interface Comment {
  day: number;
  useful: boolean;
  rating: number;
  text: string;
}

export interface PurgeReport {
  comments: number;
  audit: number;
  keys: number;
  dedupTokens: number;
  salts: number;
}

export interface KeyRotation {
  siteSecrets: number;
  consultationKeys: number;
  tokensRevoked: number;
}

export interface AuditEntry {
  id: number;
  at: number;
  actor: string;
  action: string;
  ideaId: number;
  detail: string;
}

export interface TokenInfo {
  id: number;
  /** '' for a token valid on every site. */
  site: string;
  role: Role;
  label: string;
  created: number;
  expires: number;
  revoked: boolean;
}

export interface ResidentExport {
  site: string;
  note: string;
  consultations: Array<{
    consultation: string;
    title: string;
    votes: Array<{ idea: number; title: string; vote: number; day: string }>;
    ideas: Array<{ id: number; title: string; status: Status; created: number }>;
  }>;
}

export interface OpenOptions {
  /** Default: "<path>.key", created (mode 0600) when absent. */
  keyFile?: string | null;
  readonly?: boolean;
  /** false: fail with TH_ENOTFOUND if the file does not exist. */
  create?: boolean;
  /** false: fail with TH_ESTATE if migrations are due. */
  migrate?: boolean;
  busyTimeoutMs?: number;
  synchronous?: 'full' | 'normal' | null;
  persistSalts?: boolean;
}

/**
 * A verified staff member, made only by Townhall#staffFromToken. The *As
 * methods check its role in the library (docs/SECURITY.md, "Who may do
 * what"); null there is the public. Refused once its token has expired; a
 * later revocation is not seen: make one per request or session.
 */
export class Staff {
  private constructor();
  readonly role: Role;
  readonly tokenId: number;
  readonly label: string;
  /** The token's site; null for a token for every site. */
  readonly site: string | null;
  /** The audit log's name for it: "token 7 (label)". */
  readonly actor: string;
}

interface Actor {
  /** Named in the audit log; default "system". */
  actor?: string | null;
}

export class Townhall {
  private constructor();
  readonly path: string;
  readonly closed: boolean;
  /** Closes once the calls already made have finished. */
  close(): Promise<void>;
  info(): Promise<{ schemaVersion: number; now: number }>;
  /** A consistent snapshot in the new file dest (not the key file). */
  backup(dest: string): Promise<void>;
  /** One transaction around fn; use `tx` inside it. */
  batch<T>(fn: (tx: Townhall) => Promise<T>): Promise<T>;

  createSite(slug: string, name: string, options?: SiteSettings & Actor): Promise<Site>;
  updateSite(slug: string, changes: SiteSettings & { name?: string }, options?: Actor): Promise<boolean>;
  getSite(slug: string): Promise<Site>;
  sites(): Promise<Site[]>;
  setSiteSecret(slug: string, secret: Buffer): Promise<void>;
  getSiteSecret(slug: string): Promise<Buffer>;

  createConsultation(site: string, slug: string, title: string, options?: Actor & {
    description?: string | null; ward?: string | null; opens?: Time; closes?: Time;
  }): Promise<Consultation>;
  /** By a councillor or an admin; TH_EPERM for anyone else. */
  createConsultationAs(staff: Staff | null, site: string, slug: string, title: string, options?: {
    description?: string | null; ward?: string | null; opens?: Time; closes?: Time;
  }): Promise<Consultation>;
  getConsultation(site: string, slug: string): Promise<Consultation>;
  consultations(site: string): Promise<Consultation[]>;

  submitIdea(site: string, who: Who, title: string, options?: {
    body?: string | null; category?: string | null; ward?: string | null; consultation?: string | null;
  }): Promise<Submission>;
  getIdea(site: string, id: number): Promise<Idea>;
  /** Any idea for staff; for null, as getPublicIdea. */
  getIdeaAs(staff: Staff | null, site: string, id: number): Promise<Idea>;
  /** As the public may see it; rejects with TH_ENOTFOUND for an idea they may not. */
  getPublicIdea(site: string, id: number): Promise<Idea>;
  listIdeas(site: string, query?: IdeaQuery): Promise<Page<Idea>>;
  /** Statuses the public may not see only for staff: TH_EPERM for null. */
  listIdeasAs(staff: Staff | null, site: string, query?: IdeaQuery): Promise<Page<Idea>>;
  iterateIdeas(site: string, query?: IdeaQuery): AsyncGenerator<Idea, void, undefined>;
  /** Deprecated since 0.2.0: setIdeaStatusAs. */
  setIdeaStatus(site: string, id: number, status: Status, options?: Actor & { response?: string | null }): Promise<boolean>;
  /** By a councillor or an admin; TH_EPERM for anyone else. */
  setIdeaStatusAs(staff: Staff | null, site: string, id: number, status: Status, options?: { response?: string | null }): Promise<boolean>;
  /** Deprecated since 0.2.0: moderateIdeaAs. */
  moderateIdea(site: string, id: number, action: ModerationAction, options: Actor & { reason: string; into?: number }): Promise<boolean>;
  /** By a moderator or an admin; TH_EPERM for anyone else. */
  moderateIdeaAs(staff: Staff | null, site: string, id: number, action: ModerationAction, options: { reason: string; into?: number }): Promise<boolean>;
  withdrawIdea(site: string, who: Who, id: number): Promise<boolean>;

  vote(site: string, who: Who, id: number, value: -1 | 0 | 1): Promise<Counts>;
  voteHistory(site: string, id: number): Promise<VoteDay[]>;
  voteHistoryAs(staff: Staff | null, site: string, id: number): Promise<VoteDay[]>;
  /** who's own vote on each idea (1, -1 or 0); reads only. */
  myVotes(site: string, who: Who, ids: number[]): Promise<Record<number, -1 | 0 | 1>>;

  /** One answer of its own; `key` (one per answer) folds a retry, and
   * rejects with TH_ECONFLICT when reused for another answer. */
  answerFeedback(site: string, who: Device | null, page: string,
    feedback: Feedback & { key?: string | null }): Promise<Answer>;
  /** Changes the answer the handle names, the same day (UTC); fields left
   * null or undefined keep their values. True if anything changed. */
  amendFeedback(site: string, handle: string, change?: {
    useful?: boolean | null; rating?: number | null; comment?: string | null; page?: string | null;
  }): Promise<boolean>;
  /** @deprecated since 0.2.0: answerFeedback. Always a new answer (true). */
  recordFeedback(site: string, who: Device, page: string, feedback: Feedback): Promise<boolean>;
  /** Exact counters, or (public) the published figures, withheld ones null. */
  feedbackSummary(site: string, page: string, options?: { public?: boolean }): Promise<PageSummary>;
  /** Exact for staff; the published figures for null. */
  feedbackSummaryAs(staff: Staff | null, site: string, page: string): Promise<PageSummary>;
  feedbackPages(site: string, options?: { limit?: number; cursor?: string | null }): Promise<Page<PageSummary>>;
  feedbackPagesAs(staff: Staff | null, site: string, options?: { limit?: number; cursor?: string | null }): Promise<Page<PageSummary>>;
  feedbackComments(site: string, page: string, options?: { limit?: number }): Promise<Comment[]>;
  feedbackCommentsAs(staff: Staff | null, site: string, page: string, options?: { limit?: number }): Promise<Comment[]>;

  /** feedback.csv, the server's bytes: complete ISO weeks, from the week of `from`. */
  openDataFeedback(site: string, options?: { from?: string | Date | null; weeks?: number }): Promise<Buffer>;
  /** ideas.csv, the server's bytes. */
  openDataIdeas(site: string): Promise<Buffer>;
  exportResident(site: string, resident: string): Promise<ResidentExport>;
  eraseResident(site: string, resident: string): Promise<number>;

  purge(): Promise<PurgeReport>;
  /** Re-seals what the key file protects under a new one; TH_EBUSY while the database is open elsewhere. */
  rotateKey(newKeyFile: string, options?: Actor & { backup?: string | null }): Promise<KeyRotation>;
  auditLog(site: string, options?: { beforeId?: number; limit?: number }): Promise<AuditEntry[]>;
  /** For an admin; TH_EPERM for anyone else. */
  auditLogAs(staff: Staff | null, site: string, options?: { beforeId?: number; limit?: number }): Promise<AuditEntry[]>;

  /** A resident JWT (HS256, the site's secret), ttl 1..3600 seconds. */
  residentToken(site: string, resident: string, options?: { ttl?: number }): Promise<string>;
  createToken(role: Role, label: string, options?: Actor & { site?: string | null; expires?: Time }): Promise<{ id: number; token: string }>;
  revokeToken(id: number, options?: Actor): Promise<boolean>;
  checkToken(token: string, site?: string | null): Promise<TokenInfo>;
  /** The staff member a token proves: the only way to get a Staff. */
  staffFromToken(token: string, site?: string | null): Promise<Staff>;
  tokens(): Promise<TokenInfo[]>;
}

export function open(path: string, options?: OpenOptions): Promise<Townhall>;
export function device(ip: string, userAgent?: string | null): Device;
export function redact(text: string): string;
export function normalizeUrl(url: string, keepParams?: string | null): string;

export const version: string;
export const schemaLatest: number;
export const STATUSES: readonly Status[];
export const PUBLIC_STATUSES: readonly Status[];
export const SORTS: readonly Sort[];
export const MODERATION_ACTIONS: readonly ModerationAction[];
export const ROLES: readonly Role[];
export const ERRORS: Readonly<Record<ErrorCode, { errno: number; description: string }>>;
