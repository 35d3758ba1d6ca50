// The Container Apps environment and the Parley app: external HTTPS ingress (WebSockets),
// health probes, a scale rule on live calls, and a termination grace period longer than
// Parley's drain, so a rolling update or a scale-in lets live calls finish.
param name string
param environmentName string
param location string
param tags object
param image string
param identityId string
param identityClientId string
param identityPrincipalId string
param registryServer string
param logAnalyticsWorkspaceName string

@secure()
param appInsightsConnectionString string

param keyVaultUri string
param redisHost string
param redisPort int
param speechResourceId string
param speechRegion string
param openAiEndpoint string
param openAiDeployment string
param acsEndpoint string
param acsImmutableResourceId string

@minValue(1)
param minReplicas int

@minValue(1)
param maxReplicas int

@minValue(1)
param callsPerReplica int

@minValue(10)
param drainTimeoutSeconds int

@description('vCPU and memory per replica (docs/deploy.md, sizing).')
param cpu string = '1.0'
param memory string = '2Gi'

resource workspace 'Microsoft.OperationalInsights/workspaces@2023-09-01' existing = {
  name: logAnalyticsWorkspaceName
}

resource environment 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: environmentName
  location: location
  tags: tags
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: workspace.properties.customerId
        sharedKey: workspace.listKeys().primarySharedKey
      }
    }
    zoneRedundant: false
  }
}

var fqdn = '${name}.${environment.properties.defaultDomain}'

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'parley' })
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    managedEnvironmentId: environment.id
    configuration: {
      activeRevisionsMode: 'Single'
      ingress: {
        external: true
        targetPort: 8000
        transport: 'http'
        allowInsecure: false
      }
      registries: [
        {
          server: registryServer
          identity: identityId
        }
      ]
      secrets: [
        {
          name: 'acs-webhook-key'
          keyVaultUrl: '${keyVaultUri}secrets/acs-webhook-key'
          identity: identityId
        }
        {
          name: 'operator-key'
          keyVaultUrl: '${keyVaultUri}secrets/operator-key'
          identity: identityId
        }
        {
          name: 'appinsights-connection-string'
          value: appInsightsConnectionString
        }
      ]
    }
    template: {
      // SIGTERM, then this long before SIGKILL: the drain plus 30 s for the shutdown.
      terminationGracePeriodSeconds: drainTimeoutSeconds + 30
      containers: [
        {
          name: 'parley'
          image: image
          resources: {
            cpu: json(cpu)
            memory: memory
          }
          env: [
            { name: 'PARLEY_STT', value: 'azure' }
            { name: 'PARLEY_TTS', value: 'azure' }
            { name: 'PARLEY_LLM', value: 'azure_openai' }
            { name: 'PARLEY_VAD', value: 'webrtc' }
            { name: 'PARLEY_STORE', value: 'redis' }
            { name: 'PARLEY_TELEPHONY', value: 'acs' }
            { name: 'PARLEY_BROWSER_ENABLED', value: 'false' }
            { name: 'PARLEY_LOG_FORMAT', value: 'json' }
            { name: 'PARLEY_DRAIN_TIMEOUT_S', value: string(drainTimeoutSeconds) }
            { name: 'PARLEY_MAX_CONCURRENT_CALLS', value: string(callsPerReplica * 2) }
            { name: 'PARLEY_OPERATOR_KEY', secretRef: 'operator-key' }
            // azure-identity's DefaultAzureCredential picks the user-assigned identity by this.
            { name: 'AZURE_CLIENT_ID', value: identityClientId }
            { name: 'AZURE_SPEECH_REGION', value: speechRegion }
            { name: 'AZURE_SPEECH_RESOURCE_ID', value: speechResourceId }
            { name: 'AZURE_OPENAI_ENDPOINT', value: openAiEndpoint }
            { name: 'AZURE_OPENAI_DEPLOYMENT', value: openAiDeployment }
            { name: 'AZURE_OPENAI_MANAGED_IDENTITY_CLIENT_ID', value: identityClientId }
            { name: 'REDIS_URL', value: 'rediss://${redisHost}:${redisPort}/0' }
            { name: 'REDIS_ENTRA', value: 'true' }
            { name: 'REDIS_USERNAME', value: identityPrincipalId }
            { name: 'ACS_ENDPOINT', value: acsEndpoint }
            { name: 'ACS_MANAGED_IDENTITY_CLIENT_ID', value: identityClientId }
            { name: 'ACS_CALLBACK_BASE_URL', value: 'https://${fqdn}' }
            { name: 'ACS_RESOURCE_ID', value: acsImmutableResourceId }
            { name: 'ACS_VERIFY_TOKENS', value: 'true' }
            { name: 'ACS_WEBHOOK_KEY', secretRef: 'acs-webhook-key' }
            { name: 'PARLEY_TRACING_EXPORTER', value: 'azure_monitor' }
            { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', secretRef: 'appinsights-connection-string' }
          ]
          probes: [
            {
              type: 'Startup'
              httpGet: { path: '/health', port: 8000 }
              periodSeconds: 5
              failureThreshold: 24
            }
            {
              type: 'Liveness'
              httpGet: { path: '/health', port: 8000 }
              periodSeconds: 15
              failureThreshold: 3
            }
            {
              // 503 while starting, draining or when a dependency (Redis, Speech) fails:
              // the ingress stops sending new calls to this replica.
              type: 'Readiness'
              httpGet: { path: '/ready', port: 8000 }
              periodSeconds: 5
              failureThreshold: 2
            }
          ]
        }
      ]
      scale: {
        minReplicas: minReplicas
        maxReplicas: maxReplicas
        rules: [
          {
            // A live call holds one media WebSocket, which the ingress counts as one
            // concurrent request: this is KEDA's HTTP scaler on live calls per replica.
            name: 'live-calls'
            http: {
              metadata: {
                concurrentRequests: string(callsPerReplica)
              }
            }
          }
        ]
      }
    }
  }
}

output name string = app.name
output fqdn string = fqdn
