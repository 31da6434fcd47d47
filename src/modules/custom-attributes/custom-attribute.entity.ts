import { defineEntity, p } from '@mikro-orm/core';

export const CUSTOM_ATTRIBUTE_TYPES = ['string', 'boolean', 'decimal', 'integer', 'dateTime'] as const;
export type CustomAttributeType = (typeof CUSTOM_ATTRIBUTE_TYPES)[number];

export const CustomAttributeSchema = defineEntity({
  name: 'CustomAttribute',
  tableName: 'custom_attributes',
  properties: {
    id: p.uuid().primary(),
    tenantId: p.uuid(),
    name: p.string(),
    type: p.string().$type<CustomAttributeType>(),
    multiValued: p.boolean().default(false),
    description: p.string().nullable(),
    createdAt: p.datetime().onCreate(() => new Date()),
  },
});
export class CustomAttribute extends CustomAttributeSchema.class {}
CustomAttributeSchema.setClass(CustomAttribute);
