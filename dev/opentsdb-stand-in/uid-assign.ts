// `/api/uid/assign` as a TSD 2.4 answers it: names from the query (GET) or a JSON body (POST) get UIDs.
import {
  asText,
  describeValue,
  JsonObject,
  JsonSyntaxError,
  MappingError,
  parseJson,
} from './json-reader.js';
import { OpenTsdbMessages } from './messages.js';
import { validateName } from './name-rules.js';
import {
  errorReply,
  isStorageFault,
  jsonReply,
  longTrace,
  methodNotAllowed,
  type Reply,
  storageFaultMessage,
  type TsdRequest,
} from './rpc.js';
import { UID_TYPES, type UidRegistry, type UidType } from './uid-registry.js';

export function answerAssign(request: TsdRequest, uids: UidRegistry): Reply {
  const { method, url, text, putFault, violation } = request;
  // A UID assignment writes to HBase too; the faults of a put's answer alone do not concern it.
  if (isStorageFault(putFault)) {
    return errorReply(500, storageFaultMessage(putFault), 'injected fault (stand-in)', longTrace());
  }
  const wanted = new Map<UidType, string[]>();
  if (method === 'GET') {
    for (const type of UID_TYPES) {
      const list = url.searchParams.get(type);
      if (list !== null) wanted.set(type, list.split(','));
    }
  } else if (method === 'POST') {
    try {
      const json = parseJson(text);
      if (!(json instanceof JsonObject)) throw new MappingError(`the body is ${describeValue(json)}`);
      for (const type of UID_TYPES) {
        const list = json.fields.get(type);
        if (list === undefined || list === null) continue;
        if (!Array.isArray(list)) throw new MappingError(`'${type}' is ${describeValue(list)}, not a list`);
        wanted.set(
          type,
          list.map((name) => asText(name, type) ?? ''),
        );
      }
    } catch (error) {
      if (error instanceof JsonSyntaxError || error instanceof MappingError) {
        violation(`unparsable body: ${error.message}`);
        return errorReply(400, OpenTsdbMessages.badJson, error.message);
      }
      throw error;
    }
  } else {
    violation(`${method} on /api/uid/assign`);
    return methodNotAllowed(method);
  }
  if (wanted.size === 0) {
    violation('uid/assign without metric, tagk or tagv');
    return errorReply(400, OpenTsdbMessages.missingAssign);
  }

  const response: Record<string, Record<string, string>> = {};
  let errorCount = 0;
  for (const [type, names] of wanted) {
    const assigned: Record<string, string> = {};
    const errors: Record<string, string> = {};
    for (const name of names) {
      const invalid = validateName(type, name);
      if (invalid !== null) {
        violation(`uid/assign refused ${type} "${name}": ${invalid}`);
        errors[name] = invalid;
        errorCount += 1;
      } else if (uids.nameExists(type, name)) {
        errors[name] = OpenTsdbMessages.alreadyExists(uids.uidOf(type, name));
        errorCount += 1;
      } else {
        if (type === 'metric') uids.knownMetrics.add(name);
        assigned[name] = uids.uidOf(type, name);
      }
    }
    response[type] = assigned;
    if (Object.keys(errors).length > 0) response[`${type}_errors`] = errors;
  }
  return jsonReply(errorCount > 0 ? 400 : 200, response);
}
