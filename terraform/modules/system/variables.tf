variable "envelope_schema" {
  description = "The Avro schema every external topic checks messages against (generated: topology.auto.tfvars.json)."
  type = object({
    id         = string
    definition = string
  })
}

variable "subsystems" {
  description = "Every subsystem's topics, functions and indexes, generated from the topology (topology.auto.tfvars.json)."
  type = map(object({
    topics = list(string)
    functions = map(object({
      target          = string
      service         = string
      role            = string
      kind            = string
      public          = bool
      publishes_to    = list(string)
      secrets         = list(string)
      verifies_tokens = bool
      subscription = optional(object({
        id                    = string
        topic                 = string
        producer              = optional(string)
        filter                = string
        ordered               = bool
        ack_deadline_s        = number
        min_backoff_s         = number
        max_backoff_s         = number
        max_delivery_attempts = optional(number)
      }))
      collection = optional(string)
      schedule = optional(object({
        cron = string
      }))
    }))
    firestore_indexes = list(object({
      collection = string
      fields = list(object({
        field_path = string
        order      = string
      }))
    }))
    firestore_ttl_fields = list(object({
      collection = string
      field      = string
    }))
  }))
}

variable "env" {
  description = "The environment's name (dev, prod)."
  type        = string
}

variable "project_ids" {
  description = "Each subsystem's project id in this environment: name => project id."
  type        = map(string)

  validation {
    condition     = alltrue([for id in values(var.project_ids) : can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", id))])
    error_message = "A project id is 6-30 lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "create_projects" {
  description = "Create the subsystems' projects (true) or use existing, empty ones (false)."
  type        = bool
  default     = true
}

variable "folder_id" {
  description = "Folder for the new projects (\"folders/123\" or \"123\"); null to use org_id."
  type        = string
  default     = null
}

variable "org_id" {
  description = "Organization for the new projects when folder_id is null."
  type        = string
  default     = null
}

variable "billing_account" {
  description = "Billing account id the new projects are linked to."
  type        = string
  default     = null
}

variable "region" {
  description = "Region of every regional resource."
  type        = string
}

variable "firestore_location" {
  description = "Location of the Firestore databases."
  type        = string
}

variable "deletion_protection" {
  description = "Protect projects, databases and lakes from deletion."
  type        = bool
}

variable "settings" {
  description = "Plain settings by subsystem: name => { SETTING => value } (FOODDELIVERY_<SETTING>)."
  type        = map(map(string))
  default     = {}
}

variable "secret_settings" {
  description = "Settings held in Secret Manager, by subsystem: name => [SETTING, ...]."
  type        = map(list(string))
  default     = {}
}

variable "url_settings" {
  description = "Settings whose value is one of the subsystem's own function URLs: name => { SETTING => function }."
  type        = map(map(string))
  default     = {}
}

variable "auth" {
  description = "How BFFs verify bearer tokens (see modules/subsystem)."
  type = object({
    mode             = string
    identity_project = optional(string)
    identity_tenant  = optional(string)
  })
}

variable "archive_dir" {
  description = "Directory holding <subsystem>.zip, the function source archives built by fooddelivery deploy."
  type        = string
}

variable "runtime" {
  description = "Cloud Functions Python runtime."
  type        = string
  default     = "python312"
}

variable "lake_retention_days" {
  description = "Days an event stays in each subsystem's lake before it is deleted, for a data-retention policy (the lake holds customers' delivery addresses and drivers' names and reported locations); views rebuilt from the lake then see only that window. null (the default) keeps every event for good."
  type        = number
  default     = null

  validation {
    condition     = var.lake_retention_days == null ? true : var.lake_retention_days >= 1 && floor(var.lake_retention_days) == var.lake_retention_days
    error_message = "lake_retention_days is a whole number of days, at least 1, or null (kept for good)."
  }
}

variable "max_instances" {
  description = "Upper bound on each function's instances."
  type        = number
  default     = 10
}

variable "attach_members" {
  description = "By consuming subsystem: principals allowed to attach its ingress subscriptions to producers' topics (its deployer)."
  type        = map(list(string))
  default     = {}
}

variable "labels" {
  description = "Extra labels for every labelled resource."
  type        = map(string)
  default     = {}
}
