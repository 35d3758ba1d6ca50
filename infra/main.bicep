// Parley on Azure: the production topology for `azd up` (docs/deploy.md).
//
// Container Apps runs the image (docs/adr/0008-container-apps.md) and scales on live calls;
// Redis (TLS, Microsoft Entra auth) holds sessions, transcripts and the call registry, so an
// ACS callback may land on any replica; ACS, Speech and Azure OpenAI are reached with the app's
// managed identity (role assignments, no keys); Key Vault holds the few real secrets;
// Application Insights receives the traces; PostgreSQL is the call-records database.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and tags every resource.')
param environmentName string

@minLength(1)
@description('Azure region of every regional resource.')
param location string

@description('Object id of the person running azd (Key Vault and Redis access for operations); empty for none.')
param principalId string = ''

@description('The image azd deploys; a public placeholder until the first `azd deploy`.')
param parleyImage string = 'mcr.microsoft.com/azuredocs/containerapps-helloworld:latest'

@minValue(1)
@description('Replicas that always run (at least 2 so a rolling update never leaves none).')
param minReplicas int = 2

@minValue(1)
@maxValue(300)
param maxReplicas int = 10

@minValue(1)
@description('Live calls per replica before the scale rule adds one (each call holds one media WebSocket: a concurrent request).')
param callsPerReplica int = 20

@minValue(10)
@maxValue(570)
@description('PARLEY_DRAIN_TIMEOUT_S: how long a stopping replica lets live calls run; the grace period is this plus 30 s.')
param drainTimeoutSeconds int = 240

@description('Chat model deployed in Azure OpenAI.')
param openAiModel string = 'gpt-4o-mini'

param openAiModelVersion string = '2024-07-18'

@minValue(1)
@description('Thousands of tokens per minute for the model deployment.')
param openAiCapacity int = 50

@description('Create the Event Grid IncomingCall subscription (needs the real image serving /api/acs/events: the postdeploy hook sets it).')
param createIncomingCallSubscription bool = false

@description('Create the PostgreSQL call-records database.')
param deployDatabase bool = true

@secure()
@description('Event Grid webhook key (ACS_WEBHOOK_KEY, the ?code= of /api/acs/events); generated when empty.')
// checkov:skip=CKV_AZURE_131: newGuid() makes a fresh random value at each deployment; nothing is hard-coded (pin one with `azd env set`)
param webhookKey string = newGuid()

@secure()
@description('PARLEY_OPERATOR_KEY of the operator API and console; generated when empty.')
// checkov:skip=CKV_AZURE_131: newGuid() makes a fresh random value at each deployment; nothing is hard-coded (pin one with `azd env set`)
param operatorKey string = newGuid()

var tags = { 'azd-env-name': environmentName }
var token = toLower(uniqueString(subscription().id, environmentName, location))

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-parley-${token}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    name: 'parley-${token}'
    location: location
    tags: tags
  }
}

module registry 'modules/registry.bicep' = {
  name: 'registry'
  scope: rg
  params: {
    name: 'crparley${token}'
    location: location
    tags: tags
    pullPrincipalId: identity.outputs.principalId
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  scope: rg
  params: {
    name: 'kv-parley-${take(token, 12)}'
    location: location
    tags: tags
    readerPrincipalId: identity.outputs.principalId
    adminPrincipalId: principalId
    secrets: [
      { name: 'acs-webhook-key', value: webhookKey }
      { name: 'operator-key', value: operatorKey }
    ]
  }
}

module redis 'modules/redis.bicep' = {
  name: 'redis'
  scope: rg
  params: {
    name: 'redis-parley-${token}'
    location: location
    tags: tags
    appPrincipalId: identity.outputs.principalId
    operatorPrincipalId: principalId
  }
}

module speech 'modules/speech.bicep' = {
  name: 'speech'
  scope: rg
  params: {
    name: 'speech-parley-${token}'
    location: location
    tags: tags
    userPrincipalId: identity.outputs.principalId
  }
}

module openAi 'modules/openai.bicep' = {
  name: 'openai'
  scope: rg
  params: {
    name: 'oai-parley-${token}'
    location: location
    tags: tags
    userPrincipalId: identity.outputs.principalId
    model: openAiModel
    modelVersion: openAiModelVersion
    capacity: openAiCapacity
  }
}

module acs 'modules/acs.bicep' = {
  name: 'acs'
  scope: rg
  params: {
    name: 'acs-parley-${token}'
    tags: tags
    callerPrincipalId: identity.outputs.principalId
  }
}

module database 'modules/database.bicep' = if (deployDatabase) {
  name: 'database'
  scope: rg
  params: {
    name: 'psql-parley-${token}'
    location: location
    tags: tags
    adminPrincipalId: identity.outputs.principalId
    adminPrincipalName: identity.outputs.name
  }
}

module app 'modules/containerapp.bicep' = {
  name: 'containerapp'
  scope: rg
  params: {
    name: 'ca-parley-${token}'
    environmentName: 'cae-parley-${token}'
    location: location
    tags: tags
    image: parleyImage
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    identityPrincipalId: identity.outputs.principalId
    registryServer: registry.outputs.loginServer
    logAnalyticsWorkspaceName: monitoring.outputs.logAnalyticsWorkspaceName
    appInsightsConnectionString: monitoring.outputs.appInsightsConnectionString
    keyVaultUri: keyVault.outputs.uri
    redisHost: redis.outputs.hostName
    redisPort: redis.outputs.sslPort
    speechResourceId: speech.outputs.id
    speechRegion: location
    openAiEndpoint: openAi.outputs.endpoint
    openAiDeployment: openAi.outputs.deploymentName
    acsEndpoint: acs.outputs.endpoint
    acsImmutableResourceId: acs.outputs.immutableResourceId
    minReplicas: minReplicas
    maxReplicas: maxReplicas
    callsPerReplica: callsPerReplica
    drainTimeoutSeconds: drainTimeoutSeconds
  }
}

module incomingCalls 'modules/eventgrid.bicep' = if (createIncomingCallSubscription) {
  name: 'eventgrid'
  scope: rg
  params: {
    name: 'egst-parley-${token}'
    tags: tags
    acsId: acs.outputs.id
    eventsUrl: 'https://${app.outputs.fqdn}/api/acs/events?code=${webhookKey}'
  }
}

// azd reads these into its environment (.azure/<env>/.env).
output AZURE_LOCATION string = location
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_CONTAINER_REGISTRY_ENDPOINT string = registry.outputs.loginServer
output AZURE_CONTAINER_APP_NAME string = app.outputs.name
output SERVICE_PARLEY_ENDPOINT string = 'https://${app.outputs.fqdn}'
output ACS_ENDPOINT string = acs.outputs.endpoint
output AZURE_KEY_VAULT_URI string = keyVault.outputs.uri
output APPLICATIONINSIGHTS_NAME string = monitoring.outputs.appInsightsName
output POSTGRES_HOST string = deployDatabase ? database.outputs.host : ''
