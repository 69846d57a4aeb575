// The failure converter of every stackflow client, worker and workflow sandbox (DataConverter
// `failureConverterPath`; the workflow bundle is built with it). With `encodeCommonAttributes` a
// failure's message and stack trace travel in its `encodedAttributes` payload, which the payload
// codec encrypts: an error that quotes a secret is not stored in clear (SDK 1.24
// DefaultFailureConverter). CommonJS because the SDK loads it with `require()` and workflow code
// may import nothing but @temporalio/common here.
import { DefaultFailureConverter } from '@temporalio/common';

export const failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
