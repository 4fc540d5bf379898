/*
 * Source rows -> Typesense documents (issue 14 item 2, begun): the window
 * reader that full sync's windows and CDC's refetch both read rows with, and
 * the COPY text decoder behind it. The mapper (rowToDocument, SQL rendering)
 * still lives in catalog/.
 */
export {
  createWindowReader,
  qualifiedTable,
  type WindowRead,
  type WindowReader,
  type WindowReaderOptions,
} from "./window-reader.js";
