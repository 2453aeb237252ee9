/** A number field's value as typed: emptied, it is left out (or null in a list), and the API says what is
 * missing at the field; never a value put in its place (an emptied "Times" read as 0 matched everyone). */
export const asTyped = (typed: string | number): number | undefined => (typed === "" ? undefined : Number(typed));
