variable "consumer_project_id" {
  description = "The consuming subsystem's project: the subscription lives here."
  type        = string
}

variable "subscription" {
  description = "The ingress channel (generated from the consumer's topology)."
  type = object({
    id                    = string
    filter                = string
    ordered               = bool
    ack_deadline_s        = number
    min_backoff_s         = number
    max_backoff_s         = number
    max_delivery_attempts = number
  })
}

variable "producer_topic_id" {
  description = "The producing subsystem's `external` topic (projects/<producer>/topics/external)."
  type        = string
}

variable "push_endpoint" {
  description = "URL of the consumer's ingress function."
  type        = string
}

variable "push_service_account" {
  description = "The consumer project's push identity (may invoke the ingress function)."
  type        = string
}

variable "dead_letter_topic_id" {
  description = "The consumer's own `faults` topic."
  type        = string
}

variable "pubsub_service_agent" {
  description = "The consumer project's Pub/Sub service agent (forwards dead letters)."
  type        = string
}

variable "attach_members" {
  description = "Principals of the consumer's team allowed to attach subscriptions to the producer's topic, e.g. its deployer service account. Empty when one identity deploys every subsystem."
  type        = list(string)
  default     = []
}

variable "labels" {
  description = "Labels of the subscription."
  type        = map(string)
  default     = {}
}
