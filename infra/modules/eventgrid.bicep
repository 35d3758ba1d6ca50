// The Event Grid system topic of the ACS resource and its IncomingCall subscription to
// Parley's webhook. Event Grid validates the endpoint when the subscription is created
// (the SubscriptionValidation handshake Parley answers), so this runs once the real image
// serves /api/acs/events (the azd postdeploy hook).
param name string
param tags object
param acsId string

@secure()
@description('https://<app>/api/acs/events?code=<ACS_WEBHOOK_KEY>')
param eventsUrl string

resource topic 'Microsoft.EventGrid/systemTopics@2022-06-15' = {
  name: name
  location: 'global'
  tags: tags
  properties: {
    source: acsId
    topicType: 'Microsoft.Communication.CommunicationServices'
  }
}

resource incomingCall 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2022-06-15' = {
  parent: topic
  name: 'parley-incoming-call'
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: eventsUrl
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    filter: {
      includedEventTypes: ['Microsoft.Communication.IncomingCall']
    }
    eventDeliverySchema: 'EventGridSchema'
    // A call rings for about 30 s: a later delivery cannot be answered anyway.
    retryPolicy: {
      maxDeliveryAttempts: 5
      eventTimeToLiveInMinutes: 1
    }
  }
}

output topicName string = topic.name
