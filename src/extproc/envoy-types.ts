/** The subset of Envoy's ext_proc messages this service reads and writes (proto-loader shapes, keepCase). */

export interface HeaderValue {
  key: string;
  value?: string;
  raw_value?: Buffer;
}

export interface HttpHeaders {
  headers?: { headers?: HeaderValue[] };
  end_of_stream?: boolean;
}

export interface HttpBody {
  body?: Buffer;
  end_of_stream?: boolean;
}

export interface ProcessingRequest {
  request?: 'request_headers' | 'response_headers' | 'request_body' | 'response_body' | 'request_trailers' | 'response_trailers';
  request_headers?: HttpHeaders;
  response_headers?: HttpHeaders;
  request_body?: HttpBody;
  response_body?: HttpBody;
  request_trailers?: unknown;
  response_trailers?: unknown;
  observability_mode?: boolean;
}

export interface HeaderValueOption {
  header: { key: string; raw_value: Buffer };
  /** true: add a line even when the header is there (ext_proc's default replaces it). */
  append?: { value: boolean };
}

export interface HeaderMutation {
  set_headers?: HeaderValueOption[];
  remove_headers?: string[];
}

export interface CommonResponse {
  header_mutation?: HeaderMutation;
  body_mutation?: { body: Buffer };
}

export type HeaderSendMode = 'DEFAULT' | 'SEND' | 'SKIP';
export type BodySendMode = 'NONE' | 'STREAMED' | 'BUFFERED' | 'BUFFERED_PARTIAL';

export interface ProcessingMode {
  request_header_mode?: HeaderSendMode;
  response_header_mode?: HeaderSendMode;
  request_body_mode?: BodySendMode;
  response_body_mode?: BodySendMode;
  request_trailer_mode?: HeaderSendMode;
  response_trailer_mode?: HeaderSendMode;
}

export interface ImmediateResponse {
  status: { code: number };
  headers?: HeaderMutation;
  body?: Buffer;
  details?: string;
}

export type ProcessingResponse =
  | { request_headers: { response?: CommonResponse }; mode_override?: ProcessingMode }
  | { response_headers: { response?: CommonResponse }; mode_override?: ProcessingMode }
  | { request_body: { response?: CommonResponse } }
  | { response_body: { response?: CommonResponse } }
  | { request_trailers: Record<string, never> }
  | { response_trailers: Record<string, never> }
  | { immediate_response: ImmediateResponse };
