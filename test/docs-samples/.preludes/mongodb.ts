// Context of a MongoDB fragment.
declare const uri: string
