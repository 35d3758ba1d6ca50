#!/bin/sh
# azd postdeploy: once the image serves /api/acs/events, create the Event Grid IncomingCall
# subscription (it validates the webhook on creation) with an incremental provision.
set -eu
if [ "${ACS_INCOMING_CALL_SUBSCRIPTION:-false}" = "true" ]; then
    echo "IncomingCall subscription already provisioned"
    exit 0
fi
endpoint="${SERVICE_PARLEY_ENDPOINT:?azd sets SERVICE_PARLEY_ENDPOINT from the provision outputs}"
echo "waiting for ${endpoint}/ready"
tries=0
until curl --silent --fail --max-time 5 "${endpoint}/ready" > /dev/null; do
    tries=$((tries + 1))
    if [ "$tries" -ge 60 ]; then
        echo "${endpoint}/ready did not answer 200 within 5 minutes" >&2
        exit 1
    fi
    sleep 5
done
azd env set ACS_INCOMING_CALL_SUBSCRIPTION true
azd provision --no-prompt
